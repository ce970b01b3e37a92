"""axe-core (from the npm registry, see package.json) finds no serious or critical violation on any page state, in
either theme; each page has one h1; on a phone the star and the choice boxes are at least 44 px."""
from pathlib import Path

import pytest

from tests.browser.page_states import LAPTOP, PHONE, made_states, open_state

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def world(live_app):
    return live_app, made_states(live_app.app)


def violations(page, only_colours: bool = False) -> list[str]:
    """axe-core's serious and critical violations; `only_colours` for the same page in its other theme, where only
    the colours have changed (its structure was checked in the first)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    rules = "runOnly: ['color-contrast', 'link-in-text-block'], " if only_colours else ""
    found = page.evaluate("axe.run(document, {" + rules + "resultTypes: ['violations']}).then((r) => r.violations"
                          ".filter((v) => ['serious', 'critical'].includes(v.impact))"
                          ".map((v) => v.id + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' +"
                          " (n.any[0]?.message || '')).join(' | ')))")
    return found


def test_no_serious_accessibility_violation_on_any_page_state_in_either_theme(browser, world):
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run npm ci at the top of the repository")
    live, states = world
    # The pages' CSP forbids inline script, as it should; the check's own script is let in by bypassing it here only.
    context = browser.new_context(viewport=LAPTOP, bypass_csp=True)
    try:
        page = context.new_page()
        problems = {}
        for state in states:
            open_state(page, live.url, state)
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")  # Delete…, JSON
            headings = page.locator("h1").count()
            for scheme in ("light", "dark"):  # the same page, its theme switched: one load for both
                page.emulate_media(color_scheme=scheme)
                found = violations(page, only_colours=scheme == "dark") + (
                    [f"{headings} h1 elements"] if headings != 1 else [])
                if found:
                    problems[f"{state.name} ({scheme})"] = found
        assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())
    finally:
        context.close()


def test_on_a_phone_the_star_and_the_choice_boxes_are_large_enough_to_tap(browser, world):
    live, _ = world
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(live.url + "/generations")
        for control in [".gallery-card .star-button", ".gallery-card .pick", ".result .star-button"]:
            if control.startswith(".result"):
                page.goto(live.url + "/generations/1")
            box = page.locator(control).first.bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44, (control, box)
    finally:
        context.close()
