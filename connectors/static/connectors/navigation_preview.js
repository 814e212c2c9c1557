// The live absolute-URL preview on a navigation link's admin page (SPEC §3.6).
//
// The server renders the URL (connectors.navigation.navigation_url); this file only sends
// what is typed so far and shows the answer, so the preview never disagrees with a button.
"use strict";

(function () {
  const DEBOUNCE_MS = 250;
  const PARAMETER_KEY = /^parameters-(\d+)-key$/;

  function start() {
    const preview = document.querySelector(".navigation-preview[data-preview-url]");
    const form = preview && preview.closest("form");
    if (!form) {
      return;
    }
    const output = {
      url: preview.querySelector(".navigation-preview-url"),
      sample: preview.querySelector(".navigation-preview-sample"),
      problems: preview.querySelector(".navigation-preview-problems"),
      placeholders: preview.querySelector(".navigation-preview-placeholders"),
    };
    let timer = null;
    let latestRequest = 0;

    function valueOf(name) {
      const field = form.elements.namedItem(name);
      return field ? field.value : "";
    }

    // The parameter rows in position order (ties keep the page order), without the
    // template row, rows marked for deletion and rows with no key yet.
    function parameters() {
      const rows = [];
      Array.from(form.elements).forEach(function (field, order) {
        const match = PARAMETER_KEY.exec(field.name || "");
        if (!match || !field.value.trim()) {
          return;
        }
        const prefix = "parameters-" + match[1] + "-";
        const deleted = form.elements.namedItem(prefix + "DELETE");
        if (deleted && deleted.checked) {
          return;
        }
        const position = parseInt(valueOf(prefix + "position"), 10);
        rows.push({
          key: field.value,
          value: valueOf(prefix + "value"),
          position: Number.isNaN(position) ? Number.MAX_SAFE_INTEGER : position,
          order: order,
        });
      });
      return rows.sort(function (a, b) {
        return a.position - b.position || a.order - b.order;
      });
    }

    function show(answer) {
      output.url.textContent = answer.url;
      output.sample.textContent = answer.sample;
      output.placeholders.textContent = answer.placeholders_help;
      output.problems.replaceChildren(
        ...answer.problems.map(function (problem) {
          const item = document.createElement("li");
          item.textContent = problem;
          return item;
        })
      );
    }

    function refresh() {
      const query = new URLSearchParams({
        connection: valueOf("connection"),
        navigation_type: valueOf("navigation_type"),
        relative_url: valueOf("relative_url"),
      });
      parameters().forEach(function (row) {
        query.append("key", row.key);
        query.append("value", row.value);
      });
      const request = ++latestRequest;
      fetch(preview.dataset.previewUrl + "?" + query.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("The preview answered " + response.status + ".");
          }
          return response.json();
        })
        .then(function (answer) {
          if (request === latestRequest) {
            show(answer);
          }
        })
        .catch(function (error) {
          if (request === latestRequest) {
            show({ url: "", sample: "", placeholders_help: "", problems: ["No preview: " + error.message] });
          }
        });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DEBOUNCE_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    document.addEventListener("formset:added", schedule);
    document.addEventListener("formset:removed", schedule);
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
