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

  // Dashboard panels keep themselves current by polling their JSON view: ``show`` puts an
  // answer in place and returns how many milliseconds until the next ask, or nothing to stop.
  // A hidden tab asks nothing (nobody is looking) and asks at once when it is shown again. An
  // error answer (signed out, access withdrawn) stops the panel as it was; a network failure
  // (offline, the server restarting) is tried again after ``delay``.
  function poll(url, show, delay) {
    var dueWhileHidden = false;

    function ask() {
      if (document.hidden) {
        dueWhileHidden = true;
        return;
      }
      fetch(url, { headers: { Accept: "application/json" } })
        .then(
          function (response) { return response.ok ? response.json().then(show) : null; },
          function () { return delay; }
        )
        .then(function (next) { if (next) window.setTimeout(ask, next); });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && dueWhileHidden) {
        dueWhileHidden = false;
        ask();
      }
    });
    window.setTimeout(ask, delay);
  }

  // An element built with DOM APIs: strings become text nodes, never markup.
  function element(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(function (child) { node.append(child); });
    return node;
  }

  function listedIds(container, attribute) {
    return Array.prototype.map.call(container.querySelectorAll("tr[" + attribute + "]"), function (row) {
      return row.getAttribute(attribute);
    });
  }

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

  function syncRunsShown(data) {
    var latest = data.runs.map(function (run) { return String(run.id); });
    if (listedIds(syncRuns, "data-run-id").join() !== latest.join()) {
      window.location.reload();
      return null;
    }
    var rows = syncRuns.querySelectorAll("tr[data-run-id]");
    data.runs.forEach(function (run, index) { syncRunShown(rows[index], run); });
    return data.active ? SYNC_RUNS_ACTIVE_MS : SYNC_RUNS_IDLE_MS;
  }

  if (syncRuns) {
    var anyActive = syncRuns.querySelector('tr[data-active="true"]');
    poll(syncRuns.getAttribute("data-sync-runs-url"), syncRunsShown, anyActive ? SYNC_RUNS_ACTIVE_MS : SYNC_RUNS_IDLE_MS);
  }

  // The dashboard's latest contract changes follow the CLM live. The rows are rebuilt only
  // when the changes listed differ (otherwise only their times move on, so a focused link
  // keeps its focus), and a change that was not listed before is marked for a moment.
  var latestChanges = document.querySelector("[data-latest-changes-url]");
  var LATEST_CHANGES_MS = 5000;

  function badge(colour, label) {
    return element("span", "badge badge--" + colour, [label]);
  }

  function hiddenText(text) {
    var node = element("span", null, [text]);
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  // The markup of a row of templates/contracts/dashboard.html.
  function changeRow(change) {
    var link = element("a", null, [change.contract_id]);
    link.href = change.contract_url;
    var transition = change.first
      ? [element("span", "transition-new", ["new"]), hiddenText("·")]
      : [badge(change.from_colour, change.from_label), hiddenText("→"), element("span", "visually-hidden", ["to"])];
    transition.push(badge(change.to_colour, change.to_label));
    var row = element("tr", null, [
      element("td", "cell-id", [link, element("span", "sub", [change.contract_name])]),
      element("td", null, [element("span", "transition", transition)]),
      element("td", null, [change.connection || "—", element("span", "sub mono", [change.changed_by])]),
      element("td", "nowrap", [element("time")]),
    ]);
    row.setAttribute("data-change-id", String(change.id));
    return row;
  }

  function changeTimeShown(row, change) {
    var time = row.querySelector("time");
    time.dateTime = change.changed_at;
    time.title = change.changed_title;
    time.textContent = change.changed_text;
  }

  function latestChangesShown(data) {
    var body = latestChanges.querySelector("tbody");
    var listed = listedIds(latestChanges, "data-change-id");
    var latest = data.changes.map(function (change) { return String(change.id); });
    if (listed.join() === latest.join()) {
      var rows = body.querySelectorAll("tr[data-change-id]");
      data.changes.forEach(function (change, index) { changeTimeShown(rows[index], change); });
      return LATEST_CHANGES_MS;
    }
    var arrived = 0;
    body.replaceChildren.apply(body, data.changes.map(function (change) {
      var row = changeRow(change);
      changeTimeShown(row, change);
      if (listed.indexOf(String(change.id)) === -1) {
        row.classList.add("is-new");
        arrived += 1;
      }
      return row;
    }));
    latestChanges.querySelector("[data-latest-changes-table]").hidden = data.changes.length === 0;
    latestChanges.querySelector("[data-latest-changes-empty]").hidden = data.changes.length > 0;
    latestChanges.querySelector("[data-latest-changes-announce]").textContent =
      arrived ? arrived + (arrived === 1 ? " new contract change" : " new contract changes") : "";
    return LATEST_CHANGES_MS;
  }

  if (latestChanges) {
    poll(latestChanges.getAttribute("data-latest-changes-url"), latestChangesShown, LATEST_CHANGES_MS);
  }
})();
