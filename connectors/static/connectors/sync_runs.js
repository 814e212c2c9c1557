// Live progress on the sync-run admin list and page (SPEC §7): while a run shown there is
// active, the page reloads itself every few seconds, and stops once none is.
"use strict";

(function () {
  const RELOAD_MS = 5000;

  function reloadWhileActive() {
    if (!document.querySelector('.sync-run-progress[data-active="true"]')) {
      return;
    }
    window.setTimeout(function () {
      const typing = document.activeElement && document.activeElement.matches("input, select, textarea");
      if (typing) {
        reloadWhileActive(); // not under someone typing a search; try again later
      } else {
        window.location.reload();
      }
    }, RELOAD_MS);
  }

  document.addEventListener("DOMContentLoaded", reloadWhileActive);
})();
