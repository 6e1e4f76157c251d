// The installable app: registers the service worker (/sw.js) and offers residents to install the app.
// Every page works without this file.
(function () {
  "use strict";
  var script = document.currentScript;
  if ("serviceWorker" in navigator && script && script.dataset.sw) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(script.dataset.sw, { scope: script.dataset.scope || "/" })
        .catch(function (err) { console.warn("SemPelMas: service worker not registered", err); });
    });
  }

  // "Pasang aplikasi": only where the page has the prompt (residents' pages), only when the browser
  // offers installation, and never again on this phone once dismissed.
  var DISMISSED = "sempelmas-install-dismissed";
  var box = document.getElementById("install-prompt");
  var offer = null;

  function wasDismissed() {
    try { return window.localStorage.getItem(DISMISSED) === "1"; } catch (e) { return false; }
  }

  window.addEventListener("beforeinstallprompt", function (ev) {
    if (!box || wasDismissed()) return;  // the browser's own behaviour
    ev.preventDefault();
    offer = ev;
    box.hidden = false;
  });
  window.addEventListener("appinstalled", function () {
    offer = null;
    if (box) box.hidden = true;
  });
  if (box) {
    box.addEventListener("click", function (ev) {
      if (ev.target.closest("[data-install]") && offer) {
        var asked = offer;
        offer = null;
        box.hidden = true;
        asked.prompt();
      } else if (ev.target.closest("[data-install-dismiss]")) {
        try { window.localStorage.setItem(DISMISSED, "1"); } catch (e) { /* private mode: ask again later */ }
        box.hidden = true;
      }
    });
  }
})();
