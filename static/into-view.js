// Output lands where the room looks: whatever was scrolled (a person opens More options to tick Stream, then presses
// Generate), a result, a partial image, a grid or an edit is brought into view when it arrives.
"use strict";

window.proofsheetIntoView = (element) => {
  if (!element) return;
  const box = element.getBoundingClientRect();
  const seen = box.top >= 0 && box.top < window.innerHeight * 0.35; // its top already in the upper part of the screen
  if (!seen) element.scrollIntoView({ block: "start", behavior: "instant" });
};
