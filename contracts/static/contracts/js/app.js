/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  // Filter forms submit only the fields that have a value, so shared links stay short.
  document.querySelectorAll("form[data-clean-submit]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (field.type !== "checkbox" && field.name && field.value === "") {
          field.disabled = true;
        }
      });
    });
  });
  // Coming back through the browser's history restores the page as it was left: enable them again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-clean-submit] [disabled]").forEach(function (field) {
      field.disabled = false;
    });
  });

  // Menus built on <details> close with Escape or a click elsewhere, like native menus.
  var menus = document.querySelectorAll("details[data-menu]");
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    menus.forEach(function (menu) {
      if (menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    menus.forEach(function (menu) {
      if (menu.open && !menu.contains(event.target)) menu.open = false;
    });
  });

  // The dashboard's sync runs keep their progress current: every few seconds while a run is
  // active, now and then otherwise (to notice one starting). The server words every figure;
  // this only puts them in place. When the runs listed change, the page is loaded afresh.
  var syncRuns = document.querySelector("[data-sync-runs-url]");
  var SYNC_RUNS_ACTIVE_MS = 3000;
  var SYNC_RUNS_IDLE_MS = 30000;

  function syncRunShown(row, run) {
    row.setAttribute("data-active", run.active ? "true" : "false");
    var status = row.querySelector('[data-field="status"]');
    status.textContent = run.status_label;
    status.className = "badge badge--" + run.colour;
    var bar = row.querySelector("progress");
    if (run.progress === null) bar.removeAttribute("value");
    else bar.value = run.progress;
    ["progress_text", "counts_text", "started_text"].forEach(function (name) {
      row.querySelector('[data-field="' + name + '"]').textContent = run[name];
    });
  }

  function syncRunsRefresh() {
    fetch(syncRuns.getAttribute("data-sync-runs-url"), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("sync runs: " + response.status);
        return response.json();
      })
      .then(function (data) {
        var rows = syncRuns.querySelectorAll("tr[data-run-id]");
        var listed = Array.prototype.map.call(rows, function (row) { return row.getAttribute("data-run-id"); });
        var latest = data.runs.map(function (run) { return String(run.id); });
        if (listed.join() !== latest.join()) {
          window.location.reload();
          return;
        }
        data.runs.forEach(function (run, index) { syncRunShown(rows[index], run); });
        window.setTimeout(syncRunsRefresh, data.active ? SYNC_RUNS_ACTIVE_MS : SYNC_RUNS_IDLE_MS);
      })
      .catch(function () { /* signed out or offline: the panel stays as it was */ });
  }

  if (syncRuns) {
    var anyActive = syncRuns.querySelector('tr[data-active="true"]');
    window.setTimeout(syncRunsRefresh, anyActive ? SYNC_RUNS_ACTIVE_MS : SYNC_RUNS_IDLE_MS);
  }
})();
