// Runs before the first paint (loaded without defer): the remembered theme, and a class saying scripts run,
// so the collapsed navigation shows collapsed from the start. No inline scripts: a strict CSP holds.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  try {
    var theme = window.localStorage.getItem("keydesk-theme");
    if (theme === "light" || theme === "dark") { root.setAttribute("data-theme", theme); }
  } catch (ignored) { /* storage refused: follow the system setting */ }
})();
