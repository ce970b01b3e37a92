// The model field as a searchable list of the server's models; any text is still allowed.
"use strict";

(() => {
  const input = document.getElementById("model");
  const list = document.getElementById("model-options");
  const status = document.getElementById("model-status");
  const refresh = document.getElementById("refresh-models");
  if (!input || !list) return;

  const SHOWN = 60;
  let models = null;
  let loading = null;
  let filter = "";
  let active = -1;
  refresh.hidden = false;

  const serverSelect = document.getElementById("server");
  const server = () => (serverSelect ? serverSelect.value : "");
  const query = (extra) => {
    const params = new URLSearchParams(extra);
    if (server()) params.set("server", server());
    const text = params.toString();
    return text ? `?${text}` : "";
  };

  function load(force) {
    status.textContent = "Loading the server's models…";
    loading = fetch("/api/models" + query(force ? { refresh: "1" } : {}))
      .then((response) => response.json())
      .then((data) => {
        models = data.models || [];
        document.dispatchEvent(new CustomEvent("proofsheet:models", { detail: data }));
        status.textContent = data.error
          ? `Could not list the server's models (${data.error}). Any model id can be typed.`
          : `${models.length} models; image models first.`;
        if (!list.hidden) render();
      })
      .catch(() => { status.textContent = "Could not list the server's models. Any model id can be typed."; })
      .finally(() => { loading = null; });
    return loading;
  }

  function matching() {
    const needle = filter.trim().toLowerCase();
    return (models || []).filter((model) => !needle || model.id.toLowerCase().includes(needle));
  }

  function render() {
    const rows = matching();
    list.replaceChildren();
    rows.slice(0, SHOWN).forEach((model, index) => {
      const option = document.createElement("li");
      option.id = `model-option-${index}`;
      option.setAttribute("role", "option");
      option.dataset.value = model.id;
      option.setAttribute("aria-selected", String(index === active));
      const name = document.createElement("span");
      name.className = "option-name";
      name.textContent = model.id;
      option.append(name);
      for (const [flag, label] of [["recent", "recent"], ["image", "image"]]) {
        if (model[flag]) {
          const tag = document.createElement("span");
          tag.className = `option-tag tag-${flag}`;
          tag.textContent = label;
          option.append(tag);
        }
      }
      list.append(option);
    });
    if (rows.length > SHOWN) {
      const more = document.createElement("li");
      more.className = "option-more";
      more.textContent = `…and ${rows.length - SHOWN} more: keep typing`;
      list.append(more);
    }
    if (!rows.length) {
      const none = document.createElement("li");
      none.className = "option-more";
      none.textContent = models ? "No listed model matches; this name will be sent as typed." : "Loading…";
      list.append(none);
    }
    if (active >= 0) input.setAttribute("aria-activedescendant", `model-option-${active}`);
    else input.removeAttribute("aria-activedescendant");
    list.querySelector("[aria-selected=true]")?.scrollIntoView({ block: "nearest" });
  }

  function open(withFilter) {
    filter = withFilter;
    active = -1;
    list.hidden = false;
    fitAboveSubmit();
    input.setAttribute("aria-expanded", "true");
    if (!models && !loading) load(false);
    render();
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function pick(value) {
    input.value = value;
    input.dispatchEvent(new Event("change"));
    close();
    input.focus();
  }

  function move(step) {
    const count = Math.min(matching().length, SHOWN);
    if (!count) return;
    active = (active + step + count) % count;
    render();
  }

  // The list opens when asked (a click, typing, ArrowDown), not on focus: tabbing through the form never pops it
  // up. It never covers the Generate button (which sits above it) and closes on Tab or a click elsewhere.
  function fitAboveSubmit() {
    const submit = input.form?.querySelector("[type=submit]");
    if (!submit) return;
    const room = submit.getBoundingClientRect().top - input.getBoundingClientRect().bottom - 12;
    list.style.maxHeight = `${Math.max(room, 160)}px`;
  }
  input.addEventListener("click", () => list.hidden && open(""));
  document.addEventListener("mousedown", (event) => {
    if (!list.hidden && !input.closest(".combobox").contains(event.target)) close();
  });
  input.addEventListener("input", () => open(input.value));
  // Closed a moment after the field loses focus, unless focus came back first: a Tab and a quick click back (or
  // Shift+Tab, ArrowDown) would otherwise see the list they just opened shut by the earlier blur.
  let closing = null;
  input.addEventListener("blur", () => { closing = setTimeout(close, 120); });
  input.addEventListener("focus", () => clearTimeout(closing));
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); list.hidden ? open("") : move(1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); move(-1); }
    else if (event.key === "Escape" && !list.hidden) { event.preventDefault(); event.stopPropagation(); close(); }
    else if (event.key === "Tab") close();
    else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey && !list.hidden && active >= 0) {
      event.preventDefault();
      pick(list.querySelector(`#model-option-${active}`).dataset.value);
    }
  });
  list.addEventListener("mousedown", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) { event.preventDefault(); pick(option.dataset.value); }
  });
  load(false); // the server's kind (gpt4free or not) and its providers shape the form from the start

  // A gpt4free provider picked: its own model list (whose image flags are reliable) replaces the server's.
  const provider = document.getElementById("provider");
  provider?.addEventListener("change", () => {
    const name = provider.value.trim();
    if (!name) { load(false); return; }
    status.textContent = `Loading ${name}'s models…`;
    fetch("/api/models" + query({ provider: name }))
      .then((response) => response.json())
      .then((data) => {
        models = data.models || [];
        status.textContent = data.error
          ? `Could not list ${name}'s models (${data.error}). Any model id can be typed.`
          : `${models.length} models of ${name}.`;
      })
      .catch(() => { status.textContent = `Could not list ${name}'s models. Any model id can be typed.`; });
  });
  refresh.addEventListener("click", () => { load(true).then(() => open("")); input.focus(); });
  // Another server chosen: its models, its kind (the dialect rules follow), and the header shows it.
  serverSelect?.addEventListener("change", () => {
    models = null;
    load(false);
    document.dispatchEvent(new CustomEvent("proofsheet:server", { detail: { name: server() } }));
  });
})();
