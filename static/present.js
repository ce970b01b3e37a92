// The slideshow: one slide at a time; ← → (space, a swipe) to move, F for fullscreen, Esc to leave, an optional
// auto-advance; the next image is loaded before it is needed. Without JavaScript every slide shows, one under another.
"use strict";

(() => {
  const slides = [...document.querySelectorAll(".slide")];
  const controls = document.querySelector(".present-controls");
  if (!slides.length || !controls) return;
  document.documentElement.classList.add("one-slide");
  controls.hidden = false;
  const count = controls.querySelector(".slide-count");
  const auto = document.getElementById("auto-advance");
  let current = 0;
  let timer = null;

  function preload(index) {
    const image = slides[index]?.querySelector("img");
    if (image) new Image().src = image.currentSrc || image.src;
  }

  function show(index) {
    current = (index + slides.length) % slides.length;
    slides.forEach((slide, position) => { slide.hidden = position !== current; });
    slides[current].querySelector("img").loading = "eager";
    count.textContent = `${current + 1} / ${slides.length}`;
    document.body.dataset.current = String(current);
    preload(current + 1);
    history.replaceState(null, "", `#${current + 1}`);
  }

  function restartTimer() {
    clearInterval(timer);
    const seconds = Number(auto.value);
    timer = seconds ? setInterval(() => show(current + 1), seconds * 1000) : null;
  }

  function fullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen?.().catch(() => {});
  }

  function leave() {
    window.location.assign(document.body.dataset.back || "/");
  }

  controls.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "prev") show(current - 1);
    else if (action === "next") show(current + 1);
    else if (action === "fullscreen") fullscreen();
    if (action) restartTimer();
  });
  auto.addEventListener("change", restartTimer);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest("select")) return;
    const moves = { ArrowRight: 1, " ": 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };
    if (event.key in moves) { event.preventDefault(); show(current + moves[event.key]); restartTimer(); }
    else if (event.key === "Home") show(0);
    else if (event.key === "End") show(slides.length - 1);
    else if (event.key.toLowerCase() === "f") fullscreen();
    else if (event.key === "Escape" && !document.fullscreenElement) leave();
  });
  // A swipe on a touch screen moves as the arrows do (a pinch or a vertical drag is left to the browser).
  let touchStart = null;
  document.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "touch" && event.isPrimary) touchStart = { x: event.clientX, y: event.clientY };
  });
  document.addEventListener("pointerup", (event) => {
    if (!touchStart || event.pointerType !== "touch") return;
    const dx = event.clientX - touchStart.x;
    const dy = event.clientY - touchStart.y;
    touchStart = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) { show(current + (dx < 0 ? 1 : -1)); restartTimer(); }
  });
  document.addEventListener("pointercancel", () => { touchStart = null; });

  const start = Number.parseInt(window.location.hash.slice(1), 10);
  show(Number.isFinite(start) ? start - 1 : 0);
})();
