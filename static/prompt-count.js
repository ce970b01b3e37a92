// A live count under the prompt: over the limit it turns red and says by how much. Nothing is ever cut; the server
// refuses a prompt that is too long with a message, and the form keeps what was typed.
"use strict";

(() => {
  const prompt = document.getElementById("prompt");
  const count = document.getElementById("prompt-count");
  if (!prompt || !count) return;
  const number = new Intl.NumberFormat("en");

  function update() {
    const max = Number(prompt.dataset.maxChars); // follows the model: gpt-image models take 32,000
    const length = prompt.value.trim().length;
    const over = length - max;
    count.hidden = false;
    count.classList.toggle("over", over > 0);
    count.textContent = over > 0
      ? `${number.format(length)} / ${number.format(max)} characters: ${number.format(over)} too many`
      : `${number.format(length)} / ${number.format(max)} characters`;
  }

  prompt.addEventListener("input", update);
  update();
})();
