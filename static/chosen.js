// History: the action bar says how many cards are chosen, and rises to the foot of the screen once one is. Its
// buttons are disabled while none is (each would only answer that nothing was chosen), and the bar is shown only
// while the page holds a card that can be chosen (a run's card cannot; a live generation's card may arrive).
// Without JavaScript the bar is sticky all the same, without the count; a button pressed with nothing chosen comes
// back to the History saying so.
"use strict";

(() => {
  const bar = document.getElementById("export-bar");
  if (!bar) return;
  const count = bar.querySelector(".chosen-count");
  const buttons = bar.querySelectorAll("button");
  const boxes = () => document.querySelectorAll('input[name="id"][form="export-form"]');

  function show() {
    const all = [...boxes()];
    const chosen = all.filter((box) => box.checked).length;
    bar.hidden = all.length === 0;
    count.textContent = chosen ? `${chosen} chosen` : "Choose cards to present, export or print";
    bar.classList.toggle("has-chosen", chosen > 0);
    for (const button of buttons) button.disabled = chosen === 0;
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches('input[name="id"][form="export-form"]')) show();
  });
  const list = document.querySelector(".gallery-grid");
  if (list && window.MutationObserver) new MutationObserver(show).observe(list, { childList: true });
  bar.classList.add("counted");
  show();
})();
