"""Every page state a room sees, made once per app through the API, for the accessibility check and the walker.

Not fixtures: a small support module the browser tests import (made_states, open_state)."""
from dataclasses import dataclass
from typing import Callable

from tests.support.tournament import finished_run

PHONE = {"width": 390, "height": 844}
# On a phone every control a thumb must hit (buttons, links that stand alone, selects, check boxes through their
# labels, summaries) is at least 44 px each way (WCAG 2.5.5); links inside a sentence are exempt, as WCAG allows.
# Evaluated on a page, it lists those that are smaller.
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
LAPTOP = {"width": 1366, "height": 768}


@dataclass
class PageState:
    name: str
    path: str
    ready: Callable | None = None  # what a person does on the page to reach the state (choose cards, vote)


def made_states(app) -> list[PageState]:
    """Makes a result (two images), an edit of it, a failure, a comparison, an X/Y grid and two arena rounds (one
    voted), then names each state."""
    client = app.test_client()
    result = client.post("/api/generate", json={"prompt": "a lighthouse at dawn", "model": "gpt-image-1",
                                                "size": "512x512", "n": 2}).get_json()
    client.post("/api/generate", json={"prompt": "a failure", "model": "no-such-model"})
    edit = client.post("/api/edit", data={"prompt": "add a moon", "model": "gpt-image-1",
                                          "source_generation": str(result["id"]), "source_image": "0"},
                       content_type="multipart/form-data")
    edit_id = edit.get_json()["id"]
    group = client.post("/api/compare", json={"prompt": "a whale", "models": ["flux", "sdxl-turbo", "gpt-image-1"],
                                              "size": "256x256"}).get_json()
    grid = client.post("/api/compare", json={"prompt": "a fox in the snow", "models": ["flux", "sdxl-turbo"],
                                             "size": "256x256", "prompt_sr": "fox, owl"}).get_json()
    voted = client.post("/api/arena", json={"prompt": "a red fox", "size": "256x256",
                                            "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]}).get_json()
    client.post(f"/api/arena/{voted['id']}/vote", json={"winner": "A"})
    blind = client.post("/api/arena", json={"prompt": "a blue whale", "size": "256x256",
                                            "contenders": [{"model": "flux"}, {"model": "sdxl-turbo"}]}).get_json()
    run = finished_run(client, [{"model": "flux", "size": "256x256"}, {"model": "sdxl-turbo", "size": "256x256"}],
                       prompts=["a kite", "a boat"], name="kites and boats")
    run_cell = client.get(f"/api/runs/{run['id']}/cells").get_json()["cells"][0]["generation_id"]
    judged = client.post(f"/api/runs/{run['id']}/tournament/next").get_json()
    client.post(f"/api/arena/{judged['id']}/vote", json={"winner": "B"})
    client.get("/arena/leaderboard")  # the intervals, worked out in the background: the page once they are
    app.extensions["arena"].board.settle()
    return [
        PageState("main", "/"),
        PageState("result", f"/generations/{result['id']}"),
        PageState("stage view", f"/generations/{result['id']}?stage=1"),
        PageState("edit result", f"/generations/{edit_id}"),
        PageState("comparison", f"/compare/{group['id']}"),
        PageState("xy grid", f"/compare/{grid['id']}"),
        PageState("history chosen", "/generations", _choose_two),
        PageState("arena before vote", f"/arena/{blind['id']}"),
        PageState("arena after vote", f"/arena/{voted['id']}"),
        PageState("leaderboard", "/arena/leaderboard"),
        PageState("slideshow", f"/present?group={group['id']}"),
        PageState("edit", f"/edit?from={result['id']}"),
        PageState("servers", "/servers"),
        PageState("runs", "/runs"),
        PageState("run", f"/runs/{run['id']}"),
        PageState("run's generation", f"/generations/{run_cell}"),
        PageState("tournament after a vote", f"/runs/{run['id']}/tournament?last={judged['id']}"),
        PageState("run leaderboard", f"/runs/{run['id']}/leaderboard"),
    ]


def _choose_two(page) -> None:
    for pick in page.locator(".gallery-card .pick").all()[:2]:
        pick.click()


def open_state(page, base_url: str, state: PageState) -> None:
    page.goto(base_url + state.path)
    page.wait_for_load_state("load")
    if state.ready:
        state.ready(page)
