// Keydesk administration pages (roles, users, settings): list filtering and confirmation dialogs.
// Everything works without it; it only saves round trips and opens dialogs. No inline scripts: a strict CSP holds.
(function () {
  "use strict";

  // <input data-filter="#list"> hides the list's [data-filter-text] items that don't contain what is typed.
  document.addEventListener("input", function (event) {
    var input = event.target.closest ? event.target.closest("[data-filter]") : null;
    if (!input) { return; }
    var list = document.querySelector(input.getAttribute("data-filter"));
    if (!list) { return; }
    var needle = input.value.trim().toLowerCase();
    list.querySelectorAll("[data-filter-text]").forEach(function (item) {
      item.hidden = needle !== "" && item.getAttribute("data-filter-text").indexOf(needle) === -1;
    });
  });

  // Enter in a filter box filters; it must not submit the form around it.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-filter]")) {
      event.preventDefault();
    }
  });

  // Content marked data-open-dialog that htmx swapped into a closed <dialog> opens it as a modal.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("dialog:not([open])").forEach(function (dialog) {
      if (dialog.querySelector("[data-open-dialog]")) {
        dialog.showModal();  // focuses the element marked autofocus (the safe choice: Cancel)
      }
    });
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest ? event.target.closest("[data-dialog-close]") : null;
    var dialog = closer ? closer.closest("dialog") : null;
    if (dialog) { dialog.close(); }
  });

  // A closed dialog forgets its content's request to be opened, so a later swap elsewhere can't reopen it.
  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG") {
      event.target.querySelectorAll("[data-open-dialog]").forEach(function (element) {
        element.removeAttribute("data-open-dialog");
      });
    }
  }, true);
})();
