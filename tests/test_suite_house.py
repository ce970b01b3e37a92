"""The suite's own rules, so that new tests keep them: helpers come from fixtures or tests/support, never from a
conftest or another test module, and only the browser tests need Playwright (the rest run without it)."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_no_test_module_imports_a_conftest():
    offenders = [str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
                 if any(module.split(".")[-1] == "conftest" for module in imported_modules(path))]
    assert offenders == [], "ask for a fixture by name, or import the helper from tests.support"


def test_no_test_module_imports_another():
    offenders = [str(path.relative_to(TESTS)) for path in TESTS.rglob("test_*.py")
                 if any(module.split(".")[-1].startswith("test_") for module in imported_modules(path))]
    assert offenders == [], "a helper two test files share goes to tests.support, a shared fixture to a conftest"


def test_only_the_browser_tests_import_playwright():
    offenders = [str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
                 if TESTS / "browser" not in path.parents
                 and any(module.split(".")[0] == "playwright" or module.startswith("tests.browser")
                         for module in imported_modules(path))]
    assert offenders == [], "the suite outside tests/browser must collect and run without Playwright"
