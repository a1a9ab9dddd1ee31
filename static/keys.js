// The API keys page: dialogs, the credential panel (format switch, copy), selection and delete confirmation,
// example descriptors and the expiry preview. Event delegation, so content htmx swaps in works unchanged.
(function () {
  "use strict";

  function openDialog(id) {
    var dialog = document.getElementById(id);
    if (dialog && !dialog.open) { dialog.showModal(); }
    return dialog;
  }

  function closeDialog(id) {
    var dialog = document.getElementById(id);
    if (dialog && dialog.open) { dialog.close(); }
  }

  function selectedBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll('#key-selection input[name="ids"]:checked'));
  }

  function updateBulkButton() {
    var button = document.querySelector("[data-bulk-delete]");
    if (!button) { return; }
    var count = selectedBoxes().length;
    button.hidden = count === 0;
    button.textContent = count === 1 ? "Delete API key" : "Delete " + count + " API keys";
    var all = document.querySelector("[data-select-all]");
    var boxes = document.querySelectorAll('#key-selection input[name="ids"]');
    if (all) {
      all.checked = boxes.length > 0 && count === boxes.length;
      all.indeterminate = count > 0 && count < boxes.length;
    }
  }

  // keys: [{id, name, managed}]
  function confirmDelete(keys) {
    var dialog = document.getElementById("delete-keys-dialog");
    if (!dialog || keys.length === 0) { return; }
    var ids = dialog.querySelector("[data-delete-ids]");
    var names = dialog.querySelector("[data-delete-names]");
    ids.textContent = "";
    names.textContent = "";
    keys.forEach(function (key) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "ids";
      input.value = key.id;
      ids.appendChild(input);
      var item = document.createElement("li");
      item.textContent = key.name + (key.managed ? " (managed)" : "");
      names.appendChild(item);
    });
    dialog.querySelector("#delete-keys-title").textContent = keys.length === 1
      ? "Delete API key '" + keys[0].name + "'?" : "Delete " + keys.length + " API keys?";
    dialog.querySelector("[data-delete-intro]").hidden = keys.length === 1;
    names.hidden = keys.length === 1;
    dialog.querySelector("[data-managed-warning]").hidden = !keys.some(function (key) { return key.managed; });
    dialog.showModal();
  }

  function keyOf(element) {
    return {id: element.value, name: element.getAttribute("data-name"), managed: element.hasAttribute("data-managed")};
  }

  function copyField(id, button) {
    var field = document.getElementById(id);
    var status = document.querySelector("[data-copy-status]");
    function done(ok) {
      if (status) { status.textContent = ok ? "Copied to the clipboard." : "Select the text and copy it by hand."; }
      if (ok) { button.textContent = "Copied"; }
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

  function expiryText(days) {
    var count = Number(days);
    if (!/^\s*\d+\s*$/.test(String(days)) || count < 1 || count > 36500) { return "Enter a number of days."; }
    var date = new Date(Date.now() + count * 86400000);
    return "Expires on " + date.toISOString().slice(0, 10) + " (UTC).";
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var opener = target.closest("[data-opens-dialog]");
    if (opener) {
      var id = opener.getAttribute("data-opens-dialog");
      if (id === "key-details-dialog") {
        var details = document.getElementById("key-details");
        if (details) { details.setAttribute("aria-busy", "true"); }
      } else {
        event.preventDefault();
      }
      var dialog = openDialog(id);
      var first = dialog && dialog.querySelector("input:not([type=hidden]), textarea, select");
      if (first && id !== "key-details-dialog") { first.focus(); }
      return;
    }
    var closer = target.closest("[data-close-dialog]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { event.preventDefault(); open.close(); }
      return;
    }
    var bulk = target.closest("[data-bulk-delete]");
    if (bulk) {
      event.preventDefault();
      confirmDelete(selectedBoxes().map(keyOf));
      return;
    }
    var one = target.closest("[data-delete-one]");
    if (one) {
      event.preventDefault();
      confirmDelete([keyOf(one)]);
      return;
    }
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

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.id) { return; }
    var preview = document.querySelector('[data-expiry-preview="' + input.id + '"]');
    if (preview) { preview.textContent = expiryText(input.value); }
  });

  document.body.addEventListener("api-key-created", function () {
    closeDialog("create-key-dialog");
    var field = document.getElementById("credential-value");
    if (field) { field.focus(); field.select(); }
  });

  document.body.addEventListener("api-keys-deleted", function () { closeDialog("delete-keys-dialog"); });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    updateBulkButton();
    var details = document.getElementById("key-details");
    if (details) { details.removeAttribute("aria-busy"); }
    if (event.target && event.target.id === "key-details") {
      var heading = document.getElementById("key-details-title");
      if (heading && document.getElementById("key-details-dialog").open) { heading.setAttribute("tabindex", "-1"); }
    }
  });

  updateBulkButton();
})();
