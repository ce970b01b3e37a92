"""The upstream layer talks to image servers and knows bodies, not requests: it imports nothing from the layers
above it, and stays in rooms a newcomer can read."""
import ast
from pathlib import Path

import pytest

UPSTREAM = sorted((Path(__file__).parent.parent / "proofsheet" / "upstream").glob("*.py"))
ABOVE = ("proofsheet.asking", "proofsheet.running", "proofsheet.web", "app")


def imported(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


@pytest.mark.parametrize("path", UPSTREAM, ids=[path.name for path in UPSTREAM])
def test_an_upstream_module_imports_nothing_from_above_and_stays_small(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert [name for name in imported(tree) if name.startswith(ABOVE)] == []
    assert source.count("\n") <= 400
    assert [node.name for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno >= 250] == []
