// Compare: every cell sent at once; the grid fills in cell by cell as each answer arrives.
// Without JavaScript the form posts to /compare and the server answers with the finished grid.
"use strict";

(() => {
  const form = document.getElementById("compare-form");
  const grid = document.getElementById("compare-grid");
  const cellTemplate = document.getElementById("cell-template");
  if (!form || !grid || !cellTemplate) return;
  const button = document.getElementById("compare-button");

  fetch("/api/models")
    .then((response) => response.json())
    .then((data) => {
      const suggestions = document.getElementById("model-suggestions");
      for (const model of (data.models || []).filter((m) => m.image).slice(0, 100)) {
        const option = document.createElement("option");
        option.value = model.id;
        suggestions.append(option);
      }
    })
    .catch(() => {});

  function fields() {
    const data = new FormData(form);
    return {
      prompt: String(data.get("prompt") || ""),
      models: String(data.get("models") || ""),
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
    card.querySelector(".cell-model").textContent = cell.model + (cell.seed !== undefined ? ` · seed ${cell.seed}` : "");
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
