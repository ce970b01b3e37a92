// The generate form without a page reload: a running timer while waiting, Cancel, the result put in place.
// Without JavaScript the form posts to /generate and the server answers with the result page.
"use strict";

(() => {
  const form = document.getElementById("generate-form");
  const slot = document.getElementById("result-slot");
  const waitingTemplate = document.getElementById("waiting-template");
  if (!form || !slot || !waitingTemplate) return;

  const button = document.getElementById("generate-button");
  let running = null; // {controller, clientRef, stopTimer}

  // Every field the form would send (a hidden family's fieldset is disabled, so not among them).
  function requestBody() {
    const body = { response_format: null };
    for (const [name, value] of new FormData(form)) {
      const text = String(value);
      if (name === "csrf_token") continue;
      if (name === "response_format") body[name] = text || null;
      else if (name === "stream") body[name] = true;
      else if (text.trim() !== "") body[name] = text;
    }
    return body;
  }

  function newClientRef() {
    return window.crypto?.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function showWaiting(model) {
    const card = waitingTemplate.content.firstElementChild.cloneNode(true);
    card.querySelector(".waiting-model").textContent = model || "flux";
    card.querySelector(".cancel-button").addEventListener("click", cancel);
    slot.replaceChildren(card);
    return card;
  }

  const bringIntoView = window.proofsheetIntoView;

  function showMessage(title, text) {
    const card = document.createElement("section");
    card.className = "error-card";
    card.setAttribute("role", "alert");
    const heading = document.createElement("h3");
    heading.textContent = title;
    const message = document.createElement("p");
    message.className = "error-message";
    message.textContent = text;
    card.append(heading, message);
    slot.append(card);
  }

  function setBusy(busy) {
    button.disabled = busy;
    button.textContent = busy ? "Generating…" : "Generate";
  }

  // The images are fetched and decoded while the result's page fragment is asked for; the result then shows these
  // very elements, already decoded, in place of its own <img> for the same address (which would start again).
  let early = new Map(); // address -> Image being fetched and decoded

  function preload(images) {
    early = new Map();
    for (const image of images || []) {
      if (!image.src) continue;
      const ready = new Image();
      ready.fetchPriority = "high"; // the star of the page, not a decoration to fetch when there is time
      ready.src = image.src;
      ready.decode().catch(() => {}); // a broken image is the result's to show, not this early look's
      early.set(ready.src, ready);
    }
  }

  function adoptPreloaded() {
    for (const shown of slot.querySelectorAll(".image-card img")) {
      const ready = early.get(shown.src);
      if (!ready) continue;
      for (const { name, value } of shown.attributes) {
        if (name !== "src") ready.setAttribute(name, value); // setting src again, even unchanged, starts over
      }
      shown.replaceWith(ready);
    }
    early = new Map();
  }

  async function showResult(generationId, permalink) {
    const response = await fetch(`/generations/${generationId}/fragment`);
    if (!response.ok) throw new Error(`the result page answered ${response.status}`);
    slot.innerHTML = await response.text(); // our own template, escaped by the server
    adoptPreloaded();
    history.pushState({ generationId }, "", permalink);
    nameTab();
    slot.querySelector(".result-prompt")?.focus?.({ preventScroll: true });
  }

  // The tab says which result it shows (the server's own title, on the result it rendered).
  function nameTab() {
    const title = slot.querySelector(".result")?.dataset.pageTitle;
    if (title) document.title = title;
  }

  // Back and Forward show what the address says: the page for that address, as the server renders it.
  window.addEventListener("popstate", () => window.location.reload());
  // A page the browser kept whole (its back-forward cache) may come back at an address it had moved on from: no
  // popstate then, so it is asked for again too.
  window.addEventListener("pageshow", (event) => { if (event.persisted) window.location.reload(); });

  // A message from an earlier try (a blank prompt) goes when the form is sent again.
  function clearMessages() {
    form.querySelectorAll(".field-error, .form-error").forEach((message) => message.remove());
    form.querySelectorAll("[aria-invalid]").forEach((field) => {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    });
  }

  async function submit(event) {
    event.preventDefault();
    if (running) return;
    clearMessages();
    const body = requestBody();
    const clientRef = newClientRef();
    const controller = new AbortController();
    const card = showWaiting(body.model);
    bringIntoView(card);
    running = { controller, clientRef, stopTimer: window.proofsheetTimer(card.querySelector("[role=timer]")) };
    setBusy(true);
    try {
      const response = await fetch("/api/generate", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...body, client_ref: clientRef }),
        signal: controller.signal,
      });
      if (response.headers.get("Content-Type")?.startsWith("text/event-stream")) {
        await followStream(response, card);
        return;
      }
      const answer = await response.json();
      if (response.status === 400) {
        form.submit(); // the server's own page shows each field's message and keeps what was typed
        return;
      }
      if (!answer.id) throw new Error(answer.error?.message || `Proofsheet answered ${response.status}`);
      preload(answer.images);
      await showResult(answer.id, answer.permalink);
      bringIntoView(slot);
    } catch (error) {
      if (error.name !== "AbortError") showMessage("Proofsheet did not answer", String(error.message || error));
    } finally {
      document.dispatchEvent(new CustomEvent("proofsheet:answered"));
      if (running?.controller === controller) {
        running.stopTimer();
        running = null;
        setBusy(false);
      }
    }
  }

  // A streamed generation: each partial image replaces the last in the waiting card while the timer runs, then the
  // result is put in place as usual.
  async function followStream(response, card) {
    let finished = null;
    await window.proofsheetReadEvents(response, (name, data) => {
      if (name === "partial") showPartial(card, data);
      else if (name === "done") finished = data;
      else if (name === "error") throw new Error(data.error?.message || "the generation could not start");
    });
    if (!finished) throw new Error("the stream ended before the generation finished");
    preload(finished.images);
    await showResult(finished.id, finished.permalink);
    bringIntoView(slot);
  }

  // Each partial image is decoded off screen and then takes the place of the last one, so the room never sees the
  // picture blank out while the next one loads; one that arrives after a later one is already shown is dropped.
  function showPartial(card, partial) {
    const figure = card.querySelector(".partial");
    const next = new Image(partial.width, partial.height);
    next.alt = "A partial image, still being made";
    next.src = partial.src;
    next.decode().then(() => {
      const shown = figure.querySelector("img");
      if (Number(shown.dataset.index ?? -1) > partial.index) return;
      next.dataset.index = String(partial.index);
      next.dataset.paintedAt = String(Date.now()); // when each partial was on screen: tests and bench/ read it
      next.dataset.paintLog = `${shown.dataset.paintLog || ""}${partial.index}:${next.dataset.paintedAt} `;
      shown.replaceWith(next);
      figure.querySelector("figcaption").textContent = `Partial image ${partial.index + 1}, still being made…`;
      if (figure.hidden) {
        figure.hidden = false;
        bringIntoView(figure);
      }
    }).catch(() => {}); // a partial that cannot be shown is skipped: the next one, or the result, follows
  }

  function cancel() {
    if (!running) return;
    const { controller, clientRef, stopTimer } = running;
    stopTimer();
    controller.abort();
    running = null;
    setBusy(false);
    const card = slot.querySelector(".waiting-card");
    card?.querySelector(".cancel-button")?.remove();
    card?.classList.add("cancelled");
    const what = card?.querySelector(".waiting-what");
    if (what) what.textContent = "Cancelled. The server may still finish, but its answer will not be kept.";
    fetch("/api/cancel", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ client_ref: clientRef }),
    }).catch(() => {});
  }

  form.addEventListener("submit", submit);
  // A result opened by its address (an edit's, on a phone below the form) is in view too.
  bringIntoView(slot.querySelector(".result"));

  // Ctrl/Cmd+Enter submits from anywhere in the form; "/" goes to the prompt from anywhere else.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form.contains(event.target)) {
      event.preventDefault();
      form.requestSubmit();
    } else if (event.key === "/" && !isTyping(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      document.getElementById("prompt").focus();
    } else if (event.key === "Escape" && running) {
      cancel();
    }
  });

  function isTyping(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }
})();
