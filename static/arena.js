// Blind vote: start a round without leaving the page (a timer while the images are made), then vote with keys:
// 1, 2, … for A, B, …; 0 for a tie; X for "both bad". Without JavaScript the forms post and the server answers.
"use strict";

(() => {
  const form = document.getElementById("arena-form");
  if (form) {
    const slot = document.getElementById("arena-slot");
    const button = document.getElementById("arena-button");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const servers = data.getAll("target_server");
      const body = {
        prompt: String(data.get("prompt") || ""),
        category: String(data.get("category") || ""),
        contenders: data.getAll("target_model").map((model, index) => ({ server: servers[index] || null, model: String(model) })),
      };
      button.disabled = true;
      const waiting = document.getElementById("arena-waiting").content.firstElementChild.cloneNode(true);
      slot.replaceChildren(waiting);
      const stop = window.proofsheetTimer(waiting.querySelector("[role=timer]"));
      try {
        const response = await fetch("/api/arena", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        if (response.status === 400) { form.submit(); return; } // the server's page shows each field's message
        const round = await response.json();
        if (!round.permalink) throw new Error(round.error?.message || `Proofsheet answered ${response.status}`);
        window.location.assign(round.permalink);
      } catch (error) {
        const message = document.createElement("p");
        message.className = "form-error";
        message.setAttribute("role", "alert");
        message.textContent = `The round could not start: ${error.message || error}`;
        slot.replaceChildren(message);
      } finally {
        stop();
        button.disabled = false;
      }
    });
  }

  document.addEventListener("keydown", (event) => {
    const votes = document.getElementById("vote-form"); // looked for at each key: a tournament puts the next pair's in
    if (!votes || event.ctrlKey || event.metaKey || event.altKey || event.target.closest("input, textarea, select")) return;
    if (document.querySelector("dialog[open]")) return; // the lightbox has keys of its own (0 fits the image)
    const button = votes.querySelector(`[data-key="${event.key.toLowerCase()}"]`);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
})();
