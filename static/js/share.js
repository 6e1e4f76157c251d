/* Sharing a letter's verification link (templates/questions/_share_letter.html): the share sheet where the
   browser has the Web Share API, else the link copied to the clipboard, else selected for a long press. */
(function () {
  "use strict";
  function setUp() {
    document.querySelectorAll("[data-share-url]").forEach(function (btn) {
      if (btn.dataset.shareReady) return;
      btn.dataset.shareReady = "1";
      btn.hidden = false;
      btn.addEventListener("click", function () { share(btn); });
    });
  }
  function say(btn, text) {
    var out = document.getElementById(btn.dataset.shareStatus);
    if (out) out.textContent = text;
  }
  function select(btn) {
    var input = document.getElementById(btn.dataset.shareInput);
    if (!input) return false;
    input.focus();
    input.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  function copy(btn) {
    var url = btn.dataset.shareUrl;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(function () { say(btn, btn.dataset.copied); }, function () {
        say(btn, select(btn) ? btn.dataset.copied : btn.dataset.selectHint);
      });
    } else {
      say(btn, select(btn) ? btn.dataset.copied : btn.dataset.selectHint);
    }
  }
  function share(btn) {
    var data = { title: btn.dataset.shareTitle, text: btn.dataset.shareText, url: btn.dataset.shareUrl };
    if (navigator.share && (!navigator.canShare || navigator.canShare(data))) {
      navigator.share(data).catch(function (e) { if (!e || e.name !== "AbortError") copy(btn); });
    } else {
      copy(btn);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp); else setUp();
  document.addEventListener("htmx:afterSettle", setUp);
})();
