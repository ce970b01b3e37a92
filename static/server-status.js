// The header says, checked live, whether the image server answers.
"use strict";

(() => {
  const badge = document.getElementById("server-status");
  if (!badge) return;
  const state = badge.querySelector(".server-state");
  const EVERY_MS = 30000;
  const STATES = {
    up: ["up", "answers"],
    not_images_api: ["warn", "answers, but not an images API"],
    key_refused: ["warn", "refuses the API key"],
    down: ["down", "not answering"],
  };

  async function check() {
    try {
      const response = await fetch(badge.dataset.healthUrl, { cache: "no-store" });
      const health = await response.json();
      const server = health.image_server;
      const [look, words] = STATES[server.state] || STATES.down;
      badge.dataset.state = look;
      state.textContent = words;
      badge.title = server.answers ? "The image server answers as an images API." : server.error;
    } catch {
      badge.dataset.state = "down";
      state.textContent = "Proofsheet itself is not answering";
    }
  }

  check();
  // A generation that just succeeded or failed says more than a 30-second-old check: look again at once.
  document.addEventListener("proofsheet:answered", check);
  setInterval(() => document.visibilityState === "visible" && check(), EVERY_MS);
})();
