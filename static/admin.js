// Keydesk administration pages (roles, users, settings): filtering long lists of choices as you type.
// Everything works without it; dialogs are app.js's. No inline scripts: a strict CSP holds.
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
})();
