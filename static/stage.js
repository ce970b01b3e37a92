// Stage view, for a room: the form, the header and the JSON hidden; the image as large as the screen allows with its
// prompt as a caption; a large timer and full-size partial images while waiting. N (or Page Down, as a presenter's
// clicker sends) generates the next saved prompt, in the order of their names (number them to order the deck): a
// deck to rehearse. S (or the button) goes in and out; ?stage=1 opens a page in it; the tab remembers it.
"use strict";

(() => {
  const form = document.getElementById("generate-form");
  const prompt = document.getElementById("prompt");
  if (!form || !prompt) return;
  const root = document.documentElement;
  const KEY = "proofsheet-stage";
  const POSITION = "proofsheet-stage-next"; // which saved prompt comes next
  const toggles = document.querySelectorAll(".stage-toggle");
  const hint = document.getElementById("stage-hint");

  function setStage(on) {
    root.classList.toggle("stage", on);
    sessionStorage.setItem(KEY, on ? "1" : "0");
    toggles.forEach((button) => {
      button.hidden = false;
      button.setAttribute("aria-pressed", String(on));
    });
    if (on) showNext();
  }

  async function savedPrompts() {
    try {
      return (await (await fetch("/api/prompts")).json()).prompts || [];
    } catch {
      return [];
    }
  }

  async function showNext() {
    const deck = await savedPrompts();
    const position = Number(sessionStorage.getItem(POSITION) || 0) % Math.max(deck.length, 1);
    hint.textContent = deck.length
      ? `N: ${deck[position].name} (${position + 1} of ${deck.length})`
      : "No saved prompts yet: save some beside the prompt box to make a deck.";
  }

  async function generateNext() {
    if (document.getElementById("generate-button")?.disabled) return; // one at a time
    const deck = await savedPrompts();
    if (!deck.length) return;
    const position = Number(sessionStorage.getItem(POSITION) || 0) % deck.length;
    sessionStorage.setItem(POSITION, String(position + 1));
    prompt.value = deck[position].prompt;
    prompt.dispatchEvent(new Event("input"));
    form.requestSubmit();
    showNext();
  }

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  document.addEventListener("keydown", (event) => {
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key === "s") setStage(!root.classList.contains("stage"));
    else if (root.classList.contains("stage") && (key === "n" || event.key === "PageDown")) {
      event.preventDefault();
      generateNext();
    }
  });
  toggles.forEach((button) => button.addEventListener("click", () => setStage(!root.classList.contains("stage"))));

  const asked = new URLSearchParams(window.location.search).get("stage");
  setStage(asked === "1" || (asked !== "0" && sessionStorage.getItem(KEY) === "1"));
})();
