// Copy buttons: the prompt, the request as curl or Python (exactly as sent, key as a placeholder), an image.
"use strict";

(() => {
  // Without JavaScript these buttons would do nothing, so they are rendered hidden and shown here.
  const reveal = (root) => root.querySelectorAll(".copy-button[hidden], .copy-image-button[hidden]")
    .forEach((button) => { button.hidden = false; });
  reveal(document);
  new MutationObserver(() => reveal(document)).observe(document.body, { childList: true, subtree: true });

  function confirm(button, text) {
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = text;
    setTimeout(() => { button.textContent = label; }, 1600);
  }

  async function copyText(text) {
    if (navigator.clipboard?.writeText) return navigator.clipboard.writeText(text);
    const area = document.createElement("textarea"); // the old way, for pages not in a secure context
    area.value = text;
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    if (!copied) throw new Error("copy refused");
  }

  async function asPng(blob) {
    if (blob.type === "image/png") return blob;
    const bitmap = await createImageBitmap(blob);
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  }

  async function copyImage(url) {
    const blob = await (await fetch(url)).blob();
    await navigator.clipboard.write([new ClipboardItem({ "image/png": await asPng(blob) })]);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest(".copy-button, .copy-image-button");
    if (!button) return;
    try {
      if (button.classList.contains("copy-image-button")) await copyImage(button.dataset.imageUrl);
      else await copyText(button.dataset.copyText);
      confirm(button, "Copied ✓");
    } catch {
      confirm(button, "Could not copy");
    }
  });
})();
