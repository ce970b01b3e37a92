// Saved prompts beside the prompt box: pick one to fill the box, or save what is written under a name.
"use strict";

(() => {
  const box = document.querySelector(".saved-prompts");
  const prompt = document.getElementById("prompt");
  if (!box || !prompt) return;
  const select = box.querySelector("select");
  const saveButton = box.querySelector(".save-prompt");
  const saveForm = box.querySelector(".save-prompt-form");
  const nameInput = box.querySelector("#saved-prompt-name");
  const status = box.querySelector(".saved-prompt-status");
  let saved = [];

  async function load(selectName) {
    try {
      saved = (await (await fetch("/api/prompts")).json()).prompts || [];
    } catch {
      saved = [];
    }
    select.replaceChildren(new Option("Saved prompts…", ""), ...saved.map((entry) => new Option(entry.name, String(entry.id))));
    if (selectName) select.value = String(saved.find((entry) => entry.name === selectName)?.id || "");
  }

  select.addEventListener("change", () => {
    const entry = saved.find((item) => String(item.id) === select.value);
    if (!entry) return;
    prompt.value = entry.prompt;
    prompt.dispatchEvent(new Event("input"));
    status.textContent = `“${entry.name}” is in the prompt box.`;
  });
  saveButton.addEventListener("click", () => {
    saveForm.hidden = !saveForm.hidden;
    if (!saveForm.hidden) nameInput.focus();
  });
  async function save() {
    const name = nameInput.value.trim();
    if (!name) { status.textContent = "Give the prompt a name."; return; }
    const response = await fetch("/api/prompts", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, prompt: prompt.value }),
    });
    const answer = await response.json();
    if (!response.ok) { status.textContent = answer.error?.message || "Could not save it."; return; }
    status.textContent = `Saved as “${answer.name}”.`;
    saveForm.hidden = true;
    nameInput.value = "";
    await load(answer.name);
  }
  box.querySelector(".save-prompt-confirm").addEventListener("click", save);
  nameInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); save(); }
  });
  box.hidden = false;
  load();
})();
