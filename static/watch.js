// A page waiting for something being made (a blind vote's contenders, a tournament's next pair) looks at itself
// again every few seconds, and reloads once what it shows has changed: not a timed reload (a meta refresh), which
// would move a reader's place on every tick. What is watched is looked for at each tick, so a waiting state put in
// by a script after the page loaded (a tournament's vote that leaves no pair yet) is watched too. A page stops
// looking after ten minutes of waiting.
(() => {
  const interval = (watched) => 1000 * (Number(watched?.dataset.watchEvery) || 5);
  let waited = 0;
  const look = async () => {
    const watched = document.querySelector("[data-watch-state]");
    const every = interval(watched);
    if (watched) {
      waited += every;
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
    }
    if (waited < 600000) setTimeout(look, every);
  };
  setTimeout(look, interval(document.querySelector("[data-watch-state]")));
})();
