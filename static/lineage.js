// Lineage as pictures: each "edited from" and "edit of this" link shows the thumbnail of the generation it leads to.
// Without JavaScript the links still name them by number.
"use strict";

(() => {
  async function addThumbnail(link) {
    if (link.querySelector("img")) return;
    const response = await fetch(`/api/generations/${link.dataset.lineageId}`);
    if (!response.ok) return;
    const thumbnail = (await response.json()).images.find((image) => image.thumbnail)?.thumbnail;
    if (!thumbnail) return;
    const image = Object.assign(document.createElement("img"), { src: thumbnail, alt: "", width: 96, height: 96 });
    link.prepend(image);
    link.classList.add("with-thumbnail");
  }

  const fill = () => document.querySelectorAll(".lineage-link[data-lineage-id]").forEach(addThumbnail);
  fill();
  // A result put in place by the page's script (generate.js) brings its own links.
  new MutationObserver(fill).observe(document.getElementById("result-slot") || document.body, { childList: true });
})();
