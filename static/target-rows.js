// Rows of (server, model) on Compare and Arena: each server's models suggested, rows added and removed.
"use strict";

(() => {
  const rows = document.getElementById("target-rows");
  if (!rows) return;
  const addRow = document.getElementById("add-row");
  const MAX_ROWS = Number(addRow.dataset.max || 8);

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

})();
