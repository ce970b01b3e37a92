"""On a phone every control a thumb must hit — buttons, links that stand alone, selects, check boxes, summaries — is
at least 44 px tall and wide (WCAG 2.5.5), on every page state. Links inside a sentence are exempt, as WCAG allows."""
from tests.browser.page_states import PHONE, made_states, open_state

# Every visible control that is not a link inside running text (a link whose parent has text of its own besides it).
SMALL_CONTROLS = """() => {
  const controls = [...document.querySelectorAll('button, a[href], select, summary, input:not([type=hidden])')];
  const inSentence = (el) => el.tagName === 'A' && [...el.parentElement.childNodes].some(
    (n) => n !== el && n.nodeType === Node.TEXT_NODE && n.textContent.trim().length > 1);
  // A check box or radio inside its label is tapped through the label: the label is the target.
  const target = (el) => (el.matches('input[type=checkbox], input[type=radio]') && el.closest('label')) || el;
  return controls.map(target).filter((el, i, all) => all.indexOf(el) === i).filter((el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden' || el.closest('[hidden], dialog:not([open])')) return false;
    if (inSentence(el)) return false;
    return box.height < 44 || box.width < 44;
  }).map((el) => `${el.tagName.toLowerCase()}${el.className ? '.' + [...el.classList].join('.') : ''}` +
                 ` "${(el.textContent || el.value || el.name || '').trim().slice(0, 30)}" ` +
                 `${Math.round(el.getBoundingClientRect().width)}×${Math.round(el.getBoundingClientRect().height)}`);
}"""


def test_every_control_on_every_page_state_is_large_enough_to_tap_on_a_phone(new_context, live_app):
    page = new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
    problems = {}
    for state in made_states(live_app.app):
        open_state(page, live_app.url, state)
        small = page.evaluate(SMALL_CONTROLS)
        if small:
            problems[state.name] = small
    assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())
