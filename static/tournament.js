// A run's tournament: a vote goes to the arena's API and the next pair takes its place without a reload, the pair
// just judged revealed under it (arena.js gives the keys: 1, 2 for A, B; 0 a tie; X both bad). Without JavaScript
// the vote form posts, and the page comes back with the next pair.
"use strict";

(() => {
  const stage = document.getElementById("tournament-stage");
  if (!stage) return;
  const said = document.getElementById("tournament-said");
  let busy = false;

  async function vote(form, winner) {
    const answer = await fetch(form.dataset.voteUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ winner }),
    });
    if (!answer.ok && answer.status !== 409) { // 409: judged already (another tab): on to the next pair all the same
      const body = await answer.json().catch(() => ({}));
      throw new Error(body.error?.message || `Proofsheet answered ${answer.status}`);
    }
  }

  async function nextStage(roundId) {
    const answer = await fetch(`${stage.dataset.pageUrl}?last=${encodeURIComponent(roundId)}`);
    if (!answer.ok) throw new Error(`Proofsheet answered ${answer.status}`);
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById("tournament-stage");
    if (!fresh) throw new Error("the next pair could not be read");
    return fresh;
  }

  function show(fresh) {
    stage.replaceChildren(...fresh.childNodes);
    const result = stage.querySelector(".tournament-last .vote-result");
    const next = stage.querySelector("#arena-prompt") || stage.querySelector(".tournament-over");
    said.textContent = [result?.textContent, next ? `Next: ${next.textContent}` : ""].filter(Boolean).join(" ");
    stage.querySelector("#arena-prompt")?.focus({ preventScroll: true });
  }

  function fail(form, error) {
    form.querySelectorAll("button").forEach((button) => { button.disabled = false; });
    let message = stage.querySelector(".form-error");
    if (!message) {
      message = document.createElement("p");
      message.className = "form-error";
      message.setAttribute("role", "alert");
      form.after(message);
    }
    message.textContent = `The vote was not taken: ${error.message || error}`;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.id !== "vote-form" || !stage.contains(form)) return;
    event.preventDefault();
    if (busy) return;
    busy = true;
    const winner = event.submitter ? event.submitter.value : "";
    form.querySelectorAll("button").forEach((button) => { button.disabled = true; });
    try {
      await vote(form, winner);
      show(await nextStage(form.dataset.roundId));
    } catch (error) {
      fail(form, error);
    } finally {
      busy = false;
    }
  });
})();
