// Compare: every cell sent at once; the grid fills in cell by cell as each answer arrives.
// Without JavaScript the form posts to /compare and the server answers with the finished grid.
"use strict";

(() => {
  const form = document.getElementById("compare-form");
  const grid = document.getElementById("compare-grid");
  const cellTemplate = document.getElementById("cell-template");
  if (!form || !grid || !cellTemplate) return;
  const button = document.getElementById("compare-button");

  function fields() {
    const data = new FormData(form);
    const servers = data.getAll("target_server");
    return {
      prompt: String(data.get("prompt") || ""),
      targets: data.getAll("target_model").map((model, index) => ({ server: servers[index] || null, model: String(model) })),
      y_axis: String(data.get("y_axis") || ""),
      y_values: String(data.get("y_values") || ""),
      response_format: String(data.get("response_format") || "") || null,
      size: String(data.get("size") || ""),
    };
  }

  function heading(group, prompt) {
    const head = document.createElement("header");
    head.className = "result-head";
    const title = document.createElement("h1");
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

  // Once every cell has answered, the heading as the server renders it (compare.html): its date, its cost, and the
  // Present and contact sheet buttons, which show the finished run.
  async function finishedHeading(group) {
    try {
      const page = new DOMParser().parseFromString(await (await fetch(group.permalink)).text(), "text/html");
      const head = page.querySelector("#compare-grid .result-head");
      if (head) grid.querySelector(".result-head")?.replaceWith(document.importNode(head, true));
    } catch {
      // the run is on the page; a reload shows the buttons
    }
  }

  function label(tag, className, text) {
    const element = document.createElement(tag);
    element.className = className;
    element.textContent = text;
    return element;
  }

  // One row of cards, or an X/Y grid with its labels, as the server renders it (_compare_grid.html).
  function gridOf(group, cards) {
    const cells = document.createElement("div");
    cells.className = "compare-grid";
    if (!group.rows || !group.rows.length) {
      cells.append(...cards);
      return cells;
    }
    const columns = group.columns.length;
    cells.classList.add("xy-grid");
    cells.dataset.columns = String(columns);
    cells.append(label("span", "xy-corner", ""), ...group.columns.map((text) => label("h3", "xy-label xy-column", text)));
    group.rows.forEach((row, index) => {
      cells.append(label("h3", "xy-label xy-row", row), ...cards.slice(index * columns, (index + 1) * columns));
    });
    return cells;
  }

  function placeholder(cell, position, group) {
    const card = cellTemplate.content.firstElementChild.cloneNode(true);
    card.dataset.position = String(position);
    if (group.rows && group.rows.length) {
      const columns = group.columns.length;
      card.querySelector(".cell-model").textContent =
        `${group.columns[position % columns]} · ${group.rows[Math.floor(position / columns)]}`;
      return card;
    }
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
      const cards = group.cells.map((cell, position) => placeholder(cell, position, group));
      const cells = gridOf(group, cards);
      grid.replaceChildren(heading(group, body.prompt), cells);
      window.proofsheetIntoView(grid); // the grid fills in where the room is looking
      document.title = `Compare #${group.id} · Proofsheet`;
      grid.dataset.groupId = String(group.id);
      history.pushState({}, "", group.permalink);
      await Promise.all(group.cells.map((cell, position) => runCell(group, cell, position, cards[position])));
      await finishedHeading(group);
    } finally {
      button.disabled = false;
    }
  });

  // Back and Forward show what the address says (the form, or the comparison), as the server renders it.
  window.addEventListener("popstate", () => window.location.reload());
  // A page the browser kept whole (its back-forward cache) may come back at an address it had moved on from: no
  // popstate then, so it is asked for again too.
  window.addEventListener("pageshow", (event) => { if (event.persisted) window.location.reload(); });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form.contains(event.target)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
