// The Edit page: images by drop, paste or file choice; a mask painted with a brush over the first image (eraser,
// size, clear, invert); sent to /api/edit. Without JavaScript the form posts the files and an uploaded mask.
"use strict";

(() => {
  const form = document.getElementById("edit-form");
  if (!form) return;
  const drop = document.getElementById("edit-drop");
  const stage = document.getElementById("edit-stage");
  const source = document.getElementById("edit-source");
  const canvas = document.getElementById("mask-canvas");
  const files = document.getElementById("image");
  const maskInput = document.getElementById("mask");
  const tools = document.getElementById("mask-tools");
  const size = document.getElementById("brush-size");
  const status = document.getElementById("edit-status");
  const button = document.getElementById("edit-button");
  const paint = canvas.getContext("2d");
  const PAINT = "rgb(255, 80, 160)"; // opaque in the layer; the layer itself is shown half see-through
  let painted = false;
  let last = null;
  const clear = document.getElementById("mask-clear");
  // Clear has nothing to do until something is painted: it says so by being disabled.
  function setPainted(value) {
    painted = value;
    clear.disabled = !value;
  }

  tools.hidden = false;
  maskInput.closest(".field").querySelector("label").append(" — or paint it above");

  function showImage(url) {
    source.onload = () => {
      canvas.width = source.naturalWidth;
      canvas.height = source.naturalHeight;
      setPainted(false);
      stage.hidden = false;
      drop.querySelector(".edit-drop-hint").hidden = true;
    };
    source.src = url;
  }
  if (source.getAttribute("src")) showImage(source.src);

  function useFiles(list) {
    const images = [...list].filter((file) => file.type.startsWith("image/"));
    if (!images.length) return;
    const transfer = new DataTransfer();
    images.forEach((file) => transfer.items.add(file));
    files.files = transfer.files;
    if (!form.elements.source_generation.value) showImage(URL.createObjectURL(images[0]));
  }
  files.addEventListener("change", () => {
    if (!form.elements.source_generation.value && files.files[0]) showImage(URL.createObjectURL(files.files[0]));
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("dragging"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    useFiles(event.dataTransfer.files);
  });
  document.addEventListener("paste", (event) => {
    if (event.clipboardData?.files.length) useFiles(event.clipboardData.files);
  });

  // Painting: in the image's own pixels, whatever size it is shown at.
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left) * canvas.width / box.width,
             y: (event.clientY - box.top) * canvas.height / box.height,
             scale: canvas.width / box.width };
  }
  function stroke(from, to) {
    const erasing = form.querySelector("input[name=tool]:checked")?.value === "eraser";
    paint.globalCompositeOperation = erasing ? "destination-out" : "source-over";
    paint.strokeStyle = PAINT;
    paint.lineCap = "round";
    paint.lineWidth = Number(size.value) * to.scale;
    paint.beginPath();
    paint.moveTo(from.x, from.y);
    paint.lineTo(to.x + 0.01, to.y);
    paint.stroke();
    setPainted(true);
  }
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    stroke(last, last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    stroke(last, next);
    last = next;
  });
  canvas.addEventListener("pointerup", () => { last = null; });
  clear.addEventListener("click", () => {
    paint.clearRect(0, 0, canvas.width, canvas.height);
    setPainted(false);
  });
  document.getElementById("mask-invert").addEventListener("click", () => {
    paint.globalCompositeOperation = "xor"; // painted becomes clear, clear becomes painted
    paint.fillStyle = PAINT;
    paint.fillRect(0, 0, canvas.width, canvas.height);
    paint.globalCompositeOperation = "source-over";
    setPainted(true);
  });

  // The mask as OpenAI takes it: the image's size, opaque everywhere but where it was painted (transparent).
  function maskBlob() {
    const mask = document.createElement("canvas");
    mask.width = canvas.width;
    mask.height = canvas.height;
    const context = mask.getContext("2d");
    context.fillStyle = "#000";
    context.fillRect(0, 0, mask.width, mask.height);
    context.globalCompositeOperation = "destination-out";
    context.drawImage(canvas, 0, 0);
    return new Promise((resolve) => mask.toBlob(resolve, "image/png"));
  }

  // While the edit runs: what is being asked, of which model, a running timer, and each partial image as it comes.
  function waitingCard(model) {
    const card = document.getElementById("edit-waiting-template").content.firstElementChild.cloneNode(true);
    card.querySelector(".waiting-model").textContent = model;
    const thumbnail = card.querySelector(".edit-waiting-source");
    if (stage.hidden) thumbnail.remove();
    else thumbnail.src = source.currentSrc || source.src;
    return card;
  }

  function showPartial(card, partial) {
    const figure = card.querySelector(".partial");
    figure.querySelector("img").src = partial.src;
    figure.querySelector("figcaption").textContent = `Partial image ${partial.index + 1}, still being made…`;
    figure.hidden = false;
  }

  let sending = false; // one edit at a time, however the form is submitted (a double click, Ctrl+Enter)
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    sending = true;
    const data = new FormData(form);
    data.delete("csrf_token");
    // The waiting shows at once: encoding a large painted mask takes a moment, and the click must be seen to take.
    button.disabled = true;
    const card = waitingCard(String(data.get("model") || "the image server"));
    status.replaceChildren(card);
    window.proofsheetIntoView(card); // on a phone the button is far below the image: the waiting is where one looks
    const stopTimer = window.proofsheetTimer(card.querySelector("[role=timer]"));
    let leaving = false;
    try {
      if (painted) data.set("mask", await maskBlob(), "mask.png");
      else if (!maskInput.files.length) data.delete("mask");
      const response = await fetch("/api/edit", { method: "POST", body: data });
      let answer = null;
      if (response.headers.get("Content-Type")?.startsWith("text/event-stream")) {
        await window.proofsheetReadEvents(response, (name, payload) => {
          if (name === "partial") showPartial(card, payload);
          else if (name === "done") answer = payload;
          else if (name === "error") answer = payload;
        });
      } else {
        answer = await response.json();
      }
      if (answer?.id) {
        leaving = true; // the button stays disabled until the result's page replaces this one
        window.location.assign(answer.permalink);
        return;
      }
      throw new Error(answer?.error?.message || `Proofsheet answered ${response.status}`);
    } catch (error) {
      const message = Object.assign(document.createElement("p"), { className: "form-error" });
      message.setAttribute("role", "alert");
      message.textContent = String(error.message || error);
      status.replaceChildren(message);
    } finally {
      stopTimer();
      button.disabled = leaving;
      sending = leaving;
    }
  });
})();
