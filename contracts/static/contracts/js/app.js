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
})();
