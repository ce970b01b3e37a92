// Any image opens large: arrow keys for the next and previous, +/- and 0 to zoom, Esc to close.
"use strict";

(() => {
  const ZOOMS = [0, 1, 2, 4]; // 0 = fit the screen; others are multiples of the image's own size
  let dialog = null;
  let items = [];
  let index = 0;
  let zoom = 0;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "lightbox";
    dialog.setAttribute("aria-label", "Image viewer");
    const stage = document.createElement("div");
    stage.className = "lightbox-stage";
    const image = document.createElement("img");
    image.className = "lightbox-image";
    image.alt = "";
    stage.append(image);
    const bar = document.createElement("div");
    bar.className = "lightbox-bar";
    const caption = document.createElement("p");
    caption.className = "lightbox-caption";
    const buttons = [["prev", "←", "Previous image"], ["zoom", "Zoom", "Zoom (+ / −, 0 to fit)"],
      ["next", "→", "Next image"], ["close", "✕", "Close (Esc)"]].map(([name, text, title]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `lightbox-${name}`;
      button.textContent = text;
      button.title = title;
      button.setAttribute("aria-label", title);
      return button;
    });
    bar.append(caption, ...buttons);
    dialog.append(stage, bar);
    document.body.append(dialog);
    dialog.querySelector(".lightbox-prev").addEventListener("click", () => show(index - 1));
    dialog.querySelector(".lightbox-next").addEventListener("click", () => show(index + 1));
    dialog.querySelector(".lightbox-close").addEventListener("click", () => dialog.close());
    dialog.querySelector(".lightbox-zoom").addEventListener("click", () => setZoom(zoom ? 0 : 1));
    image.addEventListener("click", () => setZoom(zoom ? 0 : 1));
    image.addEventListener("load", () => setZoom(zoom));
    dialog.addEventListener("keydown", onKey);
  }

  function show(next) {
    index = (next + items.length) % items.length;
    const link = items[index];
    const image = dialog.querySelector(".lightbox-image");
    image.src = link.href;
    image.alt = link.querySelector("img")?.alt || "";
    dialog.querySelector(".lightbox-caption").textContent =
      `${index + 1} / ${items.length} · ${link.dataset.caption || ""}`;
    dialog.dataset.index = String(index);
    setZoom(0);
  }

  function setZoom(level) {
    zoom = level;
    const image = dialog.querySelector(".lightbox-image");
    dialog.classList.toggle("zoomed", zoom > 0);
    dialog.dataset.zoom = String(zoom);
    image.style.width = zoom > 0 && image.naturalWidth ? `${image.naturalWidth * zoom}px` : "";
    const stage = dialog.querySelector(".lightbox-stage");  // keep the middle of the image in the middle
    stage.scrollLeft = (stage.scrollWidth - stage.clientWidth) / 2;
    stage.scrollTop = (stage.scrollHeight - stage.clientHeight) / 2;
  }

  function onKey(event) {
    const position = ZOOMS.indexOf(zoom);
    if (event.key === "ArrowRight") show(index + 1);
    else if (event.key === "ArrowLeft") show(index - 1);
    else if (event.key === "+" || event.key === "=") setZoom(ZOOMS[Math.min(position + 1, ZOOMS.length - 1)]);
    else if (event.key === "-") setZoom(ZOOMS[Math.max(position - 1, 0)]);
    else if (event.key === "0") setZoom(0);
    else return;
    event.preventDefault();
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-lightbox]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    if (!dialog) build();
    items = [...document.querySelectorAll("a[data-lightbox]")];
    dialog.showModal();
    show(items.indexOf(link));
  });
})();
