// The history as it happens: new generations (from this page, another tab, or a program through /v1) appear without
// a reload, running ones fill in. Server-Sent Events from /api/events; the browser reconnects by itself, and each
// (re)connection catches up on what happened meanwhile.
"use strict";

(() => {
  const list = document.querySelector("[data-live-list]");
  if (!list || !window.EventSource) return;
  const style = list.dataset.liveList; // "gallery" or "recent"
  const limit = Number(list.dataset.liveLimit || 24);

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
    if (!list.isConnected) return false;
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

  async function catchUp() {
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
      if (change.via === "run") return; // a run's cell: the History shows the run, not each of its generations
      show(change.id, change.status).then((changed) => changed && recount());
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000); // refused (too many listeners)
    });
  }
  connect();
})();
