// A rate-limited result's "Try again" waits until the server said it would take requests again, counting down.
// Without JavaScript the button is there at once; the server then answers again with how long to wait.
"use strict";

(() => {
  const arm = (button) => {
    button.dataset.armed = "";
    const label = button.textContent;
    const ready = performance.now() + Number(button.dataset.retryAfter) * 1000;
    const tick = () => {
      const left = Math.ceil((ready - performance.now()) / 1000);
      button.disabled = left > 0;
      button.textContent = left > 0 ? `${label} in ${left} s` : label;
      if (left > 0) setTimeout(tick, 250);
    };
    tick();
  };
  const armAll = () => document.querySelectorAll("button[data-retry-after]:not([data-armed])").forEach(arm);
  armAll();
  // generate.js puts each new result in place without a page load.
  const slot = document.getElementById("result-slot");
  if (slot) new MutationObserver(armAll).observe(slot, { childList: true, subtree: true });
})();
