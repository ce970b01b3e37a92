// A run's page as the run goes: the bar and the counts move with each `run` event of /api/events, and the grid page
// being watched (its filters and page kept) is fetched again, at most once a second, so that new cells appear in it
// without a reload. Without JavaScript the page is whole as served; Refresh, the filters and the buttons are forms.
"use strict";

(() => {
  const progress = document.querySelector("[data-run-progress]");
  if (!progress || !window.EventSource || !window.DOMParser) return;
  // An ended run changes no more: no place taken among the few listeners the events stream serves.
  if (["done", "cancelled"].includes(progress.dataset.runStatus)) return;
  const runId = Number(progress.dataset.runId);
  const QUIET_MS = 1000;
  let waiting = null; // the timer of the next fetch of the page
  let lastFetch = 0;

  function field(name) {
    return document.querySelector(`[data-run-field="${name}"]`);
  }

  // The figures an event carries, shown at once.
  function showCounts(run) {
    for (const [name, word] of [["done", "done"], ["failed", "failed"], ["pending", "left"]]) {
      const shown = document.querySelector(`[data-run-count="${name}"]`);
      if (shown && run[name] !== undefined) shown.textContent = `${run[name]} ${word}`;
    }
    const finished = progress.querySelector("[data-run-bar-finished]");
    const done = progress.querySelector("[data-run-bar-done]");
    if (finished && done) {
      finished.max = done.max = run.total;
      finished.value = run.done + run.failed;
      finished.textContent = `${run.done + run.failed} / ${run.total}`;
      done.value = run.done;
    }
    const status = field("status");
    if (status && run.status) {
      status.textContent = run.status;
      status.className = `run-status status-${run.status}`;
    }
  }

  // The page again, as served for the same address: the rate, the time left, the cost and the grid from it.
  async function refresh() {
    waiting = null;
    lastFetch = Date.now();
    const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html"); // our own page, escaped
    const freshProgress = fresh.querySelector("[data-run-progress]");
    if (freshProgress && freshProgress.dataset.runStatus !== progress.dataset.runStatus) {
      window.location.reload(); // paused, resumed, done or cancelled: its buttons change too
      return;
    }
    for (const name of ["rate", "eta", "cost"]) {
      const mine = field(name);
      const theirs = fresh.querySelector(`[data-run-field="${name}"]`);
      if (mine && theirs) mine.replaceWith(document.importNode(theirs, true));
    }
    const grid = document.querySelector("[data-run-grid]");
    const freshGrid = fresh.querySelector("[data-run-grid]");
    if (grid && freshGrid && grid.querySelector("form")?.contains(document.activeElement) !== true) {
      for (const part of [".run-grid-scroll", "h2", ".run-page-tools"]) {
        const mine = grid.querySelector(part);
        const theirs = freshGrid.querySelector(part);
        if (mine && theirs && mine.innerHTML !== theirs.innerHTML) mine.replaceWith(document.importNode(theirs, true));
      }
      if (!grid.querySelector(".run-grid-scroll") && freshGrid.querySelector(".run-grid-scroll")) {
        grid.replaceWith(document.importNode(freshGrid, true)); // the first cells of a filtered page arrived
      }
    }
  }

  function refreshSoon() {
    if (waiting) return;
    waiting = setTimeout(refresh, Math.max(0, QUIET_MS - (Date.now() - lastFetch)));
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.addEventListener("open", refreshSoon); // catch up on what happened while not connected
    source.addEventListener("run", (event) => {
      const run = JSON.parse(event.data);
      if (run.id !== runId) return;
      showCounts(run);
      refreshSoon();
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000); // refused (too many listeners)
    });
  }
  connect();
})();
