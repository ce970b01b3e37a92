// A page waiting for something being made (a blind vote's contenders, a tournament's first pair) looks at itself
// again every few seconds, and reloads once what it shows has changed: not a timed reload (a meta refresh), which
// would move a reader's place on every tick. A page left open stops looking after ten minutes.
(() => {
  const watched = document.querySelector("[data-watch-state]");
  if (!watched) return;
  const every = 1000 * (Number(watched.dataset.watchEvery) || 5);
  let tries = Math.ceil(600000 / every);
  const look = async () => {
    tries -= 1;
    try {
      const answer = await fetch(location.href, { headers: { Accept: "text/html" } });
      if (answer.ok) {
        const page = new DOMParser().parseFromString(await answer.text(), "text/html");
        const fresh = page.querySelector("[data-watch-state]");
        if (!fresh || fresh.dataset.watchState !== watched.dataset.watchState) {
          location.reload();
          return;
        }
      }
    } catch (error) {
      // offline for a moment: the next look may reach it
    }
    if (tries > 0) setTimeout(look, every);
  };
  setTimeout(look, every);
})();
