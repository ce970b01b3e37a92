// A seconds counter for an element with role="timer", shared by the pages that wait for the image server.
"use strict";

window.proofsheetTimer = (element) => {
  const started = performance.now();
  const tick = () => { element.textContent = ((performance.now() - started) / 1000).toFixed(1) + " s"; };
  tick();
  const interval = setInterval(tick, 100);
  return () => { clearInterval(interval); tick(); };
};
