// The Servers page checks every server again as soon as it opens, each on its own: a slow one holds nothing up.
"use strict";

(() => {
  const LOOKS = { up: "up", not_images_api: "warn", key_refused: "warn", down: "down" };

  async function check(row) {
    row.dataset.state = "checking";
    row.querySelector(".server-words").textContent = "checking…";
    try {
      const response = await fetch(`/api/servers/${encodeURIComponent(row.dataset.server)}/health`, { cache: "no-store" });
      const server = await response.json();
      const health = server.health || {};
      row.dataset.state = LOOKS[health.state] || "down";
      row.querySelector(".server-words").textContent = health.words || "not answering";
      const error = row.querySelector(".server-error");
      error.textContent = health.error || "";
      error.hidden = !health.error;
      row.querySelector(".server-models").textContent = health.models ?? "–";
      row.querySelector(".server-latency").textContent =
        health.latency_ms !== undefined ? `${Math.round(health.latency_ms)} ms` : "–";
    } catch {
      row.dataset.state = "down";
      row.querySelector(".server-words").textContent = "Proofsheet itself is not answering";
    }
  }

  document.querySelectorAll(".server-row").forEach(check);
})();
