// The form follows the model: the options of its family (GPT image, DALL·E 3, gpt4free) are shown, the others are
// hidden and not sent. The table comes from the server (one table for the form, the checks and the body).
"use strict";

(() => {
  const form = document.getElementById("generate-form");
  const model = document.getElementById("model");
  if (!form?.dataset.dialects || !model) return;
  const table = JSON.parse(form.dataset.dialects).dialects;
  const note = document.getElementById("dialect-note");
  const prompt = document.getElementById("prompt");
  const blankFormat = form.querySelector("#response_format option[value='']");
  const providers = document.getElementById("provider-suggestions");
  let serverKind = null;

  function dialectFor(name) {
    const named = table.find((dialect) => dialect.pattern && new RegExp(dialect.pattern, "i").test(name));
    return named || table.find((dialect) => dialect.name === (serverKind === "gpt4free" ? "gpt4free" : "generic"));
  }

  function apply() {
    const dialect = dialectFor(model.value.trim() || "flux");
    form.dataset.dialect = dialect.name;
    for (const fieldset of form.querySelectorAll("fieldset[data-dialect]")) {
      const shown = fieldset.dataset.dialect === dialect.name;
      fieldset.hidden = !shown;
      fieldset.disabled = !shown; // a hidden family's fields are not sent
    }
    if (note) note.textContent = dialect.note;
    if (blankFormat) {
      blankFormat.textContent = dialect.response_format_default === "omit"
        ? "not sent (these models answer base64)" : "none (server default)";
    }
    if (prompt && prompt.dataset.maxChars !== String(dialect.max_prompt)) {
      prompt.dataset.maxChars = dialect.max_prompt;
      prompt.dispatchEvent(new Event("input"));
    }
  }

  function fillProviders(names) {
    if (!providers) return;
    providers.replaceChildren(...names.map((name) => Object.assign(document.createElement("option"), { value: name })));
  }

  model.addEventListener("input", apply);
  model.addEventListener("change", apply);
  document.addEventListener("proofsheet:models", (event) => {
    serverKind = event.detail.server_kind;
    fillProviders(event.detail.providers || []);
    apply();
  });
  apply();
})();
