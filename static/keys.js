// The API keys page: the credential panel (format switch, copy), selecting keys for a bulk delete or rotation, example
// descriptors and the owner filter's summary. Dialogs are app.js's; the delete confirmation and the expiry
// preview come from the server. Event delegation, so content htmx swaps in works unchanged.
(function () {
  "use strict";

  function closeDialog(id) {
    var dialog = document.getElementById(id);
    if (dialog && dialog.open) { dialog.close(); }
  }

  function updateBulkButton() {
    var rotate = document.querySelector("[data-bulk-rotate]");
    if (rotate) {
      var rotatable = document.querySelectorAll('#key-selection input[name="ids"][data-rotatable]:checked').length;
      rotate.hidden = rotatable === 0;
      rotate.textContent = rotatable === 1 ? "Rotate API key" : "Rotate " + rotatable + " API keys";
    }
    var button = document.querySelector("[data-bulk-delete]");
    if (!button) { return; }
    var boxes = document.querySelectorAll('#key-selection input[name="ids"]');
    var count = document.querySelectorAll('#key-selection input[name="ids"]:checked').length;
    button.hidden = count === 0;
    button.textContent = count === 1 ? "Delete API key" : "Delete " + count + " API keys";
    var all = document.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && count === boxes.length;
      all.indeterminate = count > 0 && count < boxes.length;
    }
  }

  // Copy: the button reads "Copied" for a moment and the live region says so; where the clipboard is refused,
  // the text is selected for copying by hand.
  function copyField(id, button) {
    var field = document.getElementById(id);
    var status = document.querySelector("[data-copy-status]");
    function done(ok) {
      if (status) { status.textContent = ok ? "Copied to the clipboard." : "Select the text and copy it by hand."; }
      if (!ok) { return; }
      window.clearTimeout(button.copiedTimer);
      button.textContent = "Copied";
      button.copiedTimer = window.setTimeout(function () {
        button.textContent = "Copy";
        if (status) { status.textContent = ""; }
      }, 2000);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () {
        field.select();
        done(false);
      });
    } else {
      field.select();
      done(false);
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var copy = target.closest("[data-copy]");
    if (copy) {
      copyField(copy.getAttribute("data-copy"), copy);
      return;
    }
    var example = target.closest("[data-boilerplate]");
    if (example) {
      var area = document.getElementById(example.getAttribute("data-target"));
      if (area) { area.value = example.getAttribute("data-boilerplate"); area.focus(); }
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      document.querySelectorAll('#key-selection input[name="ids"]').forEach(function (box) {
        box.checked = target.checked;
      });
      updateBulkButton();
    } else if (target.matches('#key-selection input[name="ids"]')) {
      updateBulkButton();
    } else if (target.matches('#key-filters input[name="owner"]')) {
      var chosen = document.querySelectorAll('#key-filters input[name="owner"]:checked').length;
      document.getElementById("filter-owner-summary").textContent = chosen ? chosen + " selected" : "Anyone";
    } else if (target.matches("[data-credential-format]")) {
      var option = target.options[target.selectedIndex];
      document.getElementById("credential-value").value = option.getAttribute("data-value");
      var help = document.getElementById("credential-format-help");
      if (help) { help.textContent = option.getAttribute("data-help"); }
    }
  });

  // Sent with a created key (HX-Trigger, before the swap): the form's dialog closes and, once the dialog has
  // given the focus back to its opener and the panel is in, the show-once credential takes the focus.
  // A rotation does the same with the details' dialog (one key) or the rotation's confirmation (several), whose
  // panel's first credential takes the focus once it is in.
  function showCredential(dialogId) {
    var dialog = document.getElementById(dialogId);
    function focusCredential() {
      var field = document.getElementById("credential-value") || document.querySelector("[data-first-credential]");
      if (field) { field.focus(); field.select(); }
    }
    if (dialog && dialog.open) {
      dialog.addEventListener("close", function () { window.setTimeout(focusCredential, 0); }, { once: true });
      dialog.close();
    } else {
      window.setTimeout(focusCredential, 0);
    }
  }

  document.body.addEventListener("api-key-created", function () { showCredential("create-key-dialog"); });
  document.body.addEventListener("api-key-rotated", function () { showCredential("key-details-dialog"); });
  document.body.addEventListener("api-keys-rotated", function () { showCredential("rotate-keys-dialog"); });

  // Sent with the outcome of a delete (HX-Trigger): the confirmation's dialog closes.
  document.body.addEventListener("api-keys-deleted", function () { closeDialog("delete-keys-dialog"); });

  document.body.addEventListener("htmx:afterSettle", updateBulkButton);

  updateBulkButton();
})();
