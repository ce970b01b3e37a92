// History: the action bar says how many cards are chosen, and rises to the foot of the screen once one is.
// Without JavaScript the bar is sticky all the same, without the count.
"use strict";

(() => {
  const bar = document.getElementById("export-bar");
  if (!bar) return;
  const count = bar.querySelector(".chosen-count");
  const boxes = () => document.querySelectorAll('input[name="id"][form="export-form"]');

  function show() {
    const chosen = [...boxes()].filter((box) => box.checked).length;
    count.textContent = chosen ? `${chosen} chosen` : "Choose cards to present, export or print";
    bar.classList.toggle("has-chosen", chosen > 0);
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches('input[name="id"][form="export-form"]')) show();
  });
  bar.classList.add("counted");
  show();
})();
