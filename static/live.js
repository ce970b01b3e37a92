// The history as it happens: new generations (from this page, another tab, or a program through /v1) appear without
// a reload, running ones fill in, and a run's card not yet ended follows the run (on any page of the History).
// Server-Sent Events from /api/events; the browser reconnects by itself, and each (re)connection catches up on what
// happened meanwhile.
"use strict";

(() => {
  const list = document.querySelector("[data-live-list]");
  const ENDED = ["done", "cancelled"]; // a run that changes no more
  const followed = () => [...document.querySelectorAll("[data-run-card]")]
    .filter((card) => !ENDED.includes(card.dataset.runStatus));
  if (!window.EventSource || (!list && !followed().length)) return;
  const style = list?.dataset.liveList; // "gallery" or "recent"
  const limit = Number(list?.dataset.liveLimit || 24);
  const CARD_QUIET_MS = 1000; // a run's card is fetched again at most this often
  const cardTimers = new Map(); // run id -> the timer of its card's next fetch
  const cardFetched = new Map(); // run id -> when its card was last fetched

  const count = document.querySelector("[data-live-count]"); // the History's "N generations"

  function setCount(total) {
    if (count) count.textContent = `${total} generation${total === 1 ? "" : "s"}`;
  }

  async function recount() {
    if (!count) return;
    const response = await fetch("/api/generations?per_page=1");
    if (response.ok) setCount((await response.json()).total);
  }

  // Shows the change; true when a card came or went (the count changed too).
  async function show(id, status) {
    // The main page's strip leaves the page when a generation starts there (the waiting card takes its place): a card
    // put in it then would only fetch a thumbnail no one sees, while the result's own images are on their way.
    if (!list?.isConnected) return false;
    const existing = list.querySelector(`[data-generation-id="${id}"]`);
    if (status === "deleted") {
      existing?.remove();
      return true;
    }
    if (existing?.dataset.status === status && status !== "running") return false;
    const response = await fetch(`/generations/${id}/card?style=${style}`);
    if (!response.ok) return false;
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim(); // our own template, escaped by the server
    const card = holder.content.firstElementChild;
    const current = list.querySelector(`[data-generation-id="${id}"]`);
    if (current) {
      current.replaceWith(card);
      return false;
    }
    const newer = [...list.children].find((item) => Number(item.dataset.generationId) < id);
    list.insertBefore(card, newer || null);
    while (list.children.length > limit) list.lastElementChild.remove();
    for (const hidden of document.querySelectorAll("#gallery-body[hidden], #recent-title[hidden]")) hidden.hidden = false;
    list.hidden = false;
    document.querySelector(".gallery .empty")?.remove();
    return true;
  }

  // The figures a `run` event carries, shown at once on the run's card.
  function showRun(card, run) {
    const finished = card.querySelector("[data-run-bar-finished]");
    const done = card.querySelector("[data-run-bar-done]");
    if (finished && done) {
      finished.max = done.max = run.total;
      finished.value = run.done + run.failed;
      finished.textContent = `${run.done + run.failed} / ${run.total}`;
      done.value = run.done;
    }
    const counts = card.querySelector("[data-run-card-counts]");
    const failed = run.failed ? ` · ${run.failed} failed` : "";
    if (counts) counts.textContent = `${run.status} · ${run.done} done${failed} of ${run.total}`;
  }

  // The run's card again, as the History serves it: its first images and its status with it.
  async function fetchRunCard(id) {
    cardTimers.delete(id);
    cardFetched.set(id, Date.now());
    const response = await fetch(`/runs/${id}/card`);
    const current = document.querySelector(`[data-run-card="${id}"]`);
    if (!response.ok || !current) return;
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim(); // our own template, escaped by the server
    const card = holder.content.firstElementChild;
    const focused = current.contains(document.activeElement);
    current.replaceWith(card);
    if (focused) card.querySelector("a")?.focus(); // a person moving with the keyboard keeps their place
  }

  function fetchRunCardSoon(id) {
    if (cardTimers.has(id)) return;
    const wait = Math.max(0, CARD_QUIET_MS - (Date.now() - (cardFetched.get(id) || 0)));
    cardTimers.set(id, setTimeout(() => fetchRunCard(id), wait));
  }

  function followRun(run) {
    const card = document.querySelector(`[data-run-card="${run.id}"]`);
    if (!card) return;
    showRun(card, run);
    fetchRunCardSoon(run.id);
  }

  async function catchUp() {
    for (const card of followed()) fetchRunCardSoon(Number(card.dataset.runCard));
    if (!list) return;
    const response = await fetch(`/api/generations?per_page=${limit}`);
    if (!response.ok) return;
    const page = await response.json();
    for (const row of page.generations.reverse()) await show(row.id, row.status);
    setCount(page.total); // the same answer says how many there are: no second question
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.addEventListener("open", catchUp);
    source.addEventListener("generation", (event) => {
      const change = JSON.parse(event.data);
      if (change.via === "run" || !list) return; // a run's cell: the History shows the run, not each of its generations
      show(change.id, change.status).then((changed) => changed && recount());
    });
    source.addEventListener("run", (event) => followRun(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000); // refused (too many listeners)
    });
  }
  connect();
})();
