// The header says, checked live, whether the image server answers.
"use strict";

(() => {
  const badge = document.getElementById("server-status");
  if (!badge) return;
  const state = badge.querySelector(".server-state");
  const nameSlot = badge.querySelector(".server-name");
  const urlSlot = badge.querySelector(".server-url");
  const chosen = document.getElementById("server");
  let server = chosen ? chosen.value : badge.dataset.server;
  const EVERY_MS = 30000;
  const STATES = {
    up: ["up", "answers"],
    not_images_api: ["warn", "answers, but not an images API"],
    key_refused: ["warn", "refuses the API key"],
    down: ["down", "not answering"],
  };

  async function check() {
    try {
      const url = `${badge.dataset.healthUrl}?server=${encodeURIComponent(server)}`;
      const health = await (await fetch(url, { cache: "no-store" })).json();
      const found = health.image_server;
      if (!found) {
        badge.dataset.state = "down";
        state.textContent = "no such server";
        badge.title = health.error?.message || "";
        return;
      }
      nameSlot.textContent = found.name;
      urlSlot.textContent = found.url;
      const [look, words] = STATES[found.state] || STATES.down;
      badge.dataset.state = look;
      state.textContent = words;
      badge.title = found.answers ? "The image server answers as an images API." : found.error;
    } catch {
      badge.dataset.state = "down";
      state.textContent = "Proofsheet itself is not answering";
    }
  }

  check();
  // A generation that just succeeded or failed says more than a 30-second-old check: look again at once.
  document.addEventListener("proofsheet:answered", check);
  // The form's server picked: the header follows it.
  document.addEventListener("proofsheet:server", (event) => { server = event.detail.name; check(); });
  setInterval(() => document.visibilityState === "visible" && check(), EVERY_MS);
})();
