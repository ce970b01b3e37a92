// The voter's phone: a tap votes without reloading the page (the form posts the same fields; without JavaScript it
// posts and the page comes back), the chosen button stays pressed, and every few seconds the page asks whether the
// vote has closed, to show the reveal.
"use strict";

(() => {
  const main = document.getElementById("room-vote");
  const form = document.getElementById("room-form");
  if (!main || !form) return;
  const token = main.dataset.token;
  const status = document.getElementById("room-status");
  const words = { tie: "a tie", both_bad: "both bad" };

  form.addEventListener("submit", async (event) => {
    const button = event.submitter;
    if (!button) return;
    event.preventDefault();
    const data = new FormData(form);
    data.set("choice", button.value);
    try {
      const response = await fetch(`/r/${token}`, { method: "POST", body: new URLSearchParams(data),
        headers: { Accept: "application/json" } });
      const answer = await response.json();
      if (response.status === 409) { window.location.reload(); return; }
      if (!response.ok) throw new Error(answer.error?.message || `The vote was not counted (${response.status}).`);
      for (const other of form.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
      status.textContent = `Your vote: ${words[answer.choice] || answer.choice}. Tap another to change it.`;
    } catch (error) {
      status.textContent = error.message || "The vote was not counted: try again.";
    }
  });

  async function closed() {
    if (document.visibilityState !== "visible") return false;
    try {
      const response = await fetch(`/r/${token}/state`, { headers: { Accept: "application/json" } });
      return response.ok && !(await response.json()).open;
    } catch {
      return false;
    }
  }

  setInterval(async () => { if (await closed()) window.location.reload(); }, 3000 + Math.random() * 2000);
})();
