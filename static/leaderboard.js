// While the newest votes' intervals are being worked out (marked "updating"), fetch the leaderboard again every two
// seconds and put in its table, until they are done; a bounded number of times, so a page left open stops by itself.
(() => {
  const standings = document.getElementById("standings");
  if (!standings || standings.dataset.updating !== "true") return;
  let tries = 30;
  const refresh = async () => {
    tries -= 1;
    try {
      const answer = await fetch(location.href, { headers: { Accept: "text/html" } });
      if (answer.ok) {
        const fresh = new DOMParser().parseFromString(await answer.text(), "text/html").getElementById("standings");
        if (fresh) {
          standings.replaceChildren(...fresh.childNodes);
          standings.dataset.updating = fresh.dataset.updating;
        }
      }
    } catch (error) {
      // offline for a moment: the next try may reach it
    }
    if (standings.dataset.updating === "true" && tries > 0) setTimeout(refresh, 2000);
  };
  setTimeout(refresh, 2000);
})();
