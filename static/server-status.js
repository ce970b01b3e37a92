// The header says, checked live, whether the image server answers.
"use strict";

(() => {
  const badge = document.getElementById("server-status");
  if (!badge) return;
  const state = badge.querySelector(".server-state");
  const EVERY_MS = 30000;

  async function check() {
    try {
      const response = await fetch(badge.dataset.healthUrl, { cache: "no-store" });
      const health = await response.json();
      const answers = health.image_server.answers;
      badge.dataset.state = answers ? "up" : "down";
      state.textContent = answers ? "answers" : "not answering";
      badge.title = answers ? "The image server answers." : health.image_server.error;
    } catch {
      badge.dataset.state = "down";
      state.textContent = "Proofsheet itself is not answering";
    }
  }

  check();
  setInterval(() => document.visibilityState === "visible" && check(), EVERY_MS);
})();
