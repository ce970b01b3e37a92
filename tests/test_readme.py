"""The README's commands are the ones CI runs."""
import re
from tests.support import ROOT



def readme_command(section):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"^    (\S.*)$", body, re.M).group(1)


def test_ci_runs_the_readme_s_test_command_exactly():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_command("Test") in ci


def test_the_readme_s_commands_install_into_a_virtualenv_with_the_system_s_python3():
    for section in ("Start", "Test"):
        command = readme_command(section)
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -r requirements")
        assert " python " not in f" {command} " and " pip " not in f" {command} "
