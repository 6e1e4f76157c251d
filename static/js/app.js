// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Ask before destructive actions (buttons carrying data-confirm).
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-confirm]");
    if (btn && !window.confirm(btn.getAttribute("data-confirm"))) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);
  // Forms marked data-busy: disable the submit button while the upload is in flight.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-busy")) return;
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.disabled = true;
      b.setAttribute("aria-busy", "true");
    });
  });
  // Re-enable them when the page is shown again from the back/forward cache.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy] button[type=submit]").forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    });
  });
})();
