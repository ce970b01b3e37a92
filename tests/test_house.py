"""The house rules a newcomer relies on to find where a change belongs (README, Layout): data flows one way, each
module does one job, settings come from one place. Read from the source with ast, so a rule broken anywhere fails."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "proofsheet"
# Top to bottom: a module may import from its own layer or any layer below it, never from one above.
LAYERS = ["web", "running", "asking", "upstream", "history", "base"]
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
ENVIRONMENT = ("environ", "getenv", "environb", "putenv")


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py"))


def _layer(module: str) -> str | None:
    """The layer of a dotted module name inside the package; the demo server is a program of its own."""
    parts = module.split(".")
    if parts[0] != "proofsheet" or len(parts) < 2 or parts[1].startswith("demo"):
        return None
    return parts[1] if parts[1] in LAYERS else "base"


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names if node.module == "proofsheet"]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for path in _modules():
        own = _layer(_name(path))
        if own is None:
            continue
        for module in _imports(_parsed(path)):
            theirs = _layer(module)
            if theirs is not None and LAYERS.index(theirs) < LAYERS.index(own):
                upward.append(f"{_name(path)} ({own}) imports {module} ({theirs})")
    assert upward == []


def _is_blueprint_module(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Blueprint" for node in ast.walk(tree))


def test_blueprints_never_import_blueprints():
    web = sorted((PACKAGE / "web").glob("*.py"))
    blueprints = {_name(path) for path in web if _is_blueprint_module(_parsed(path))}
    assert len(blueprints) >= 10  # the rule is about something: the pages, the API, /v1 ...
    crossing = [f"{_name(path)} imports {module}" for path in web for module in _imports(_parsed(path))
                if module in blueprints and _name(path) != module]
    assert crossing == []


def test_the_environment_is_read_in_settings_only():
    readers = []
    for path in [ROOT / "app.py", *_modules()]:
        if path.name in ("settings.py",) or path.stem.startswith("demo"):
            continue
        tree = _parsed(path)
        reads = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT
                 and getattr(node.value, "id", None) == "os"]
        if reads or any(module in ("os.environ", "os.getenv") for module in _imports(tree)):
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_each_module_and_class_stays_small(path):
    tree = _parsed(path)
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it along its jobs"
    large = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
             if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES]
    assert large == []
