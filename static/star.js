// Stars toggle in place (the form still works without JavaScript).
"use strict";

document.addEventListener("submit", async (event) => {
  const form = event.target.closest(".star-form");
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector(".star-button");
  try {
    const response = await fetch(`/api/generations/${form.dataset.starId}/star`, { method: "POST" });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error?.message);
    button.setAttribute("aria-pressed", String(answer.starred));
    button.firstChild.textContent = answer.starred ? "★" : "☆";
    button.title = answer.starred ? "Starred: click to unstar" : "Star this generation";
  } catch {
    form.submit();
  }
});
