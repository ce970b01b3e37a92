// The room's vote on the projector: the bars fill as phones vote. `room` events come on the history's live stream
// (/api/events, at most four a second); each (re)connection catches up from /api/arena/<id>/tally. When the vote
// closes (here or from another tab) the page reloads to show the reveal. Without JavaScript the page shows the
// tally as it was when loaded, and Close still works.
"use strict";

(() => {
  const panel = document.querySelector("[data-room-round]");
  if (!panel || !window.EventSource) return;
  const id = Number(panel.dataset.roomRound);
  const voters = panel.querySelector(".room-voters");

  function show(tally) {
    if (!tally.open) {
      window.location.reload();
      return;
    }
    const total = tally.voters;
    voters.textContent = `${total} voter${total === 1 ? "" : "s"}`;
    for (const bar of panel.querySelectorAll(".room-bar")) {
      const count = tally.votes[bar.dataset.choice] || 0;
      const meter = bar.querySelector("progress");
      meter.max = Math.max(total, 1);
      meter.value = count;
      meter.setAttribute("aria-label", `${bar.querySelector(".room-bar-label").textContent}: ${count} of ${total}`);
      bar.querySelector("[data-count]").textContent = String(count);
      bar.querySelector("[data-share]").textContent = String(total ? Math.round((100 * count) / total) : 0);
    }
  }

  async function catchUp() {
    const response = await fetch(`/api/arena/${id}/tally`);
    if (response.ok) show(await response.json());
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.addEventListener("open", catchUp);
    source.addEventListener("room", (event) => {
      const tally = JSON.parse(event.data);
      if (tally.id === id) show(tally);
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000); // refused (too many listeners)
    });
  }
  connect();
})();
