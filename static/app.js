// Keydesk page behaviour that htmx attributes can't express. No inline scripts anywhere: a strict CSP holds.
(function () {
  "use strict";
})();
