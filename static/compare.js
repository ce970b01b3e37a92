// Compare: every cell sent at once; the grid fills in cell by cell as each answer arrives.
// Without JavaScript the form posts to /compare and the server answers with the finished grid.
"use strict";

(() => {
  const form = document.getElementById("compare-form");
  const grid = document.getElementById("compare-grid");
  const cellTemplate = document.getElementById("cell-template");
  if (!form || !grid || !cellTemplate) return;
  const button = document.getElementById("compare-button");

  const rows = document.getElementById("target-rows");
  const addRow = document.getElementById("add-row");
  const MAX_ROWS = 8;

  // Each server's image models, suggested in the rows that name that server.
  for (const list of document.querySelectorAll("datalist[data-server]")) {
    fetch("/api/models?server=" + encodeURIComponent(list.dataset.server))
      .then((response) => response.json())
      .then((data) => {
        for (const model of (data.models || []).filter((m) => m.image).slice(0, 100)) {
          const option = document.createElement("option");
          option.value = model.id;
          list.append(option);
        }
      })
      .catch(() => {});
  }

  function wireRow(row) {
    const server = row.querySelector(".target-server");
    const model = row.querySelector(".target-model");
    const remove = row.querySelector(".remove-row");
    server.addEventListener("change", () => model.setAttribute("list", `model-suggestions-${server.value}`));
    remove.hidden = false;
    remove.addEventListener("click", () => {
      if (rows.children.length > 1) row.remove();
      else model.value = "";
      addRow.hidden = false;
    });
  }

  for (const row of rows.children) wireRow(row);
  addRow.hidden = false;
  addRow.addEventListener("click", () => {
    const last = rows.lastElementChild;
    const row = last.cloneNode(true);
    const index = rows.children.length;
    for (const control of row.querySelectorAll("select, input")) {
      control.id = control.id.replace(/\d+$/, String(index));
      if (control.tagName === "INPUT") { control.value = ""; control.placeholder = "another model"; }
    }
    for (const label of row.querySelectorAll("label")) label.htmlFor = label.htmlFor.replace(/\d+$/, String(index));
    row.querySelector(".target-server").value = last.querySelector(".target-server").value;
    rows.append(row);
    wireRow(row);
    row.querySelector(".target-model").focus();
    addRow.hidden = rows.children.length >= MAX_ROWS;
  });

  function fields() {
    const data = new FormData(form);
    const servers = data.getAll("target_server");
    return {
      prompt: String(data.get("prompt") || ""),
      targets: data.getAll("target_model").map((model, index) => ({ server: servers[index] || null, model: String(model) })),
      seeds: String(data.get("seeds") || ""),
      response_format: String(data.get("response_format") || "") || null,
      size: String(data.get("size") || ""),
    };
  }

  function heading(group, prompt) {
    const head = document.createElement("header");
    head.className = "result-head";
    const title = document.createElement("h2");
    title.className = "result-prompt";
    title.textContent = prompt;
    const link = document.createElement("a");
    link.className = "permalink";
    link.href = group.permalink;
    link.textContent = `Comparison #${group.id}`;
    const facts = document.createElement("p");
    facts.className = "facts";
    facts.append(link);
    head.append(title, facts);
    return head;
  }

  function placeholder(cell, position) {
    const card = cellTemplate.content.firstElementChild.cloneNode(true);
    card.dataset.position = String(position);
    const where = grid.dataset.manyServers === "true" || cell.server ? `${cell.server || grid.dataset.defaultServer} · ` : "";
    card.querySelector(".cell-model").textContent = where + cell.model + (cell.seed !== undefined ? ` · seed ${cell.seed}` : "");
    return card;
  }

  async function runCell(group, cell, position, card) {
    const stop = window.proofsheetTimer(card.querySelector("[role=timer]"));
    try {
      const response = await fetch("/api/generate", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...cell, group_id: group.id, group_position: position }),
      });
      const answer = await response.json();
      if (!answer.id) throw new Error(answer.error?.message || `Proofsheet answered ${response.status}`);
      const html = await (await fetch(`/generations/${answer.id}/cell`)).text();
      const range = document.createRange();
      card.replaceWith(range.createContextualFragment(html)); // our own template, escaped by the server
    } catch (error) {
      card.classList.remove("cell-waiting");
      const message = document.createElement("p");
      message.className = "error-message";
      message.textContent = `Proofsheet did not answer: ${error.message || error}`;
      card.querySelector(".cell-placeholder").replaceWith(message);
    } finally {
      stop();
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = fields();
    button.disabled = true;
    try {
      const response = await fetch("/api/groups", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.status === 400) { form.submit(); return; } // the server's page shows the messages
      const group = await response.json();
      const cells = document.createElement("div");
      cells.className = "compare-grid";
      const cards = group.cells.map((cell, position) => placeholder(cell, position));
      cells.append(...cards);
      grid.replaceChildren(heading(group, body.prompt), cells);
      grid.dataset.groupId = String(group.id);
      history.pushState({}, "", group.permalink);
      await Promise.all(group.cells.map((cell, position) => runCell(group, cell, position, cards[position])));
    } finally {
      button.disabled = false;
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form.contains(event.target)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
