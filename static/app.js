// Keydesk page behaviour that htmx attributes can't express. No inline scripts anywhere: a strict CSP holds.
//
// Dialogs, one convention on every page:
//  - data-open-dialog="<id>" on a link or button opens that <dialog> when clicked. When the element also
//    loads the dialog's content (hx-get), the dialog shows at once and its target is marked busy meanwhile.
//  - data-open-dialog (no value) on content htmx swaps into a closed <dialog> opens that dialog; focus goes
//    to the content's autofocus element (the safe choice: Cancel).
//  - Closing: <form method="dialog"> or a formmethod="dialog" button wherever the platform suffices; a
//    data-close-dialog button inside a form htmx posts (htmx cancels that form's native dialog submission).
//  - A dialog that closes gives the focus back to what opened it, if nothing else took it.
(function () {
  "use strict";

  var openers = new WeakMap();
  var busy = null;

  function show(dialog, opener) {
    if (!dialog || dialog.open) { return; }
    openers.set(dialog, opener || document.activeElement);
    dialog.showModal();
  }

  function settled() {
    if (busy) { busy.removeAttribute("aria-busy"); busy = null; }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var opener = target.closest('[data-open-dialog]:not([data-open-dialog=""])');
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (!dialog) { return; }
      if (opener.hasAttribute("hx-get")) {  // htmx loads the content into the dialog
        busy = document.querySelector(opener.getAttribute("hx-target"));
        if (busy) { busy.setAttribute("aria-busy", "true"); }
        show(dialog, opener);
        return;
      }
      event.preventDefault();
      show(dialog, opener);
      var first = dialog.querySelector("[autofocus], input:not([type=hidden]), textarea, select");
      if (first) { first.focus(); }
      return;
    }
    var closer = target.closest("[data-close-dialog]");
    var open = closer && closer.closest("dialog");
    if (open) {
      event.preventDefault();
      open.close();
    }
  });

  // Content marked data-open-dialog that htmx swapped into a closed dialog opens it as a modal. The mark is a
  // one-time request, taken away as the dialog opens: a later swap elsewhere (the table after a delete, whose
  // event closes the dialog) can't open it again with the content it already showed.
  document.addEventListener("htmx:afterSettle", function () {
    settled();
    // A dialog that showed at once and then got its content swapped in has lost the focus with the old content:
    // give it to the new content's autofocus element (or its first control), as on opening.
    document.querySelectorAll("dialog[open]").forEach(function (dialog) {
      if (dialog.contains(document.activeElement)) { return; }
      var first = dialog.querySelector("[autofocus], button, [href], input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    });
    document.querySelectorAll('dialog:not([open]) [data-open-dialog=""]').forEach(function (request) {
      var dialog = request.closest("dialog");
      request.removeAttribute("data-open-dialog");
      show(dialog);
    });
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) { settled(); }
  });

  // A closed dialog forgets its content's request to be opened (so a later swap elsewhere can't reopen it),
  // and gives the focus back to its opener.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.tagName !== "DIALOG") { return; }
    dialog.querySelectorAll('[data-open-dialog=""]').forEach(function (element) {
      element.removeAttribute("data-open-dialog");
    });
    var opener = openers.get(dialog);
    openers.delete(dialog);
    var focused = document.activeElement;
    if (opener && opener.isConnected && (!focused || focused === document.body || dialog.contains(focused))) {
      opener.focus();
    }
  }, true);

  // The theme switch: "system" follows prefers-color-scheme (no data-theme), light and dark are remembered in
  // this browser. early.js applies the remembered choice before the first paint.
  function showTheme() {
    var chosen = document.documentElement.getAttribute("data-theme") || "system";
    document.querySelectorAll("[data-theme-choice]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-theme-choice") === chosen));
    });
  }

  document.addEventListener("click", function (event) {
    var choice = event.target.closest("[data-theme-choice]");
    if (!choice) { return; }
    var theme = choice.getAttribute("data-theme-choice");
    var root = document.documentElement;
    try {
      if (theme === "system") { window.localStorage.removeItem("keydesk-theme"); }
      else { window.localStorage.setItem("keydesk-theme", theme); }
    } catch (ignored) { /* storage refused: the choice lasts for this page only */ }
    if (theme === "system") { root.removeAttribute("data-theme"); } else { root.setAttribute("data-theme", theme); }
    showTheme();
  });

  // The navigation's Menu button (shown on narrow screens only) opens and closes the list of sections.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (!toggle) { return; }
    var links = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    if (links) { links.classList.toggle("open", open); }
  });

  // Escape closes an open menu (the account menu, the navigation) and gives the focus back to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = event.target.closest && event.target.closest("details.dropdown[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  // Clicking anywhere outside an open dropdown closes it, as menus do.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.open = false; }
    });
  });

  showTheme();
})();
