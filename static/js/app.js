// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Ask before destructive actions (buttons carrying data-confirm).
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-confirm]");
    if (!btn) return;
    if (!window.confirm(btn.getAttribute("data-confirm"))) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      return;
    }
    // asked here: the server skips its own question page (the one shown without JS)
    var form = btn.form;
    if (form && !form.querySelector("input[name=yakin]")) {
      var sure = document.createElement("input");
      sure.type = "hidden";
      sure.name = "yakin";
      sure.value = "1";
      form.appendChild(sure);
    }
  }, true);
  // A new password typed once and shown on request, instead of typed twice: the "repeat" box (data-same-as,
  // kept for JS off) is hidden and filled from the first one when the form is sent.
  document.querySelectorAll("input[data-same-as]").forEach(function (again) {
    var first = again.form && again.form.elements[again.getAttribute("data-same-as")];
    var box = again.closest(".field");
    if (!first || !box || !first.closest(".field")) return;
    box.hidden = true;
    again.required = false;
    var label = document.createElement("label");
    label.className = "check show-password";
    var tick = document.createElement("input");
    tick.type = "checkbox";
    tick.addEventListener("change", function () { first.type = tick.checked ? "text" : "password"; });
    var text = document.createElement("span");
    text.textContent = again.getAttribute("data-show-label") || "Tampilkan kata sandi";
    label.appendChild(tick);
    label.appendChild(text);
    first.closest(".field").appendChild(label);
    again.form.addEventListener("submit", function () {
      again.value = first.value;
      first.type = "password";  // the browser offers to save it as a password, not as text
    }, true);
  });
  // Forms marked data-busy: disable the submit button while the upload is in flight.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-busy")) return;
    // a disabled button is left out of the form data: carry the pressed one's name=value in a hidden field
    var pressed = ev.submitter;
    form.querySelectorAll("input[data-carry]").forEach(function (old) { old.remove(); });
    if (pressed && pressed.name) {
      var carry = document.createElement("input");
      carry.type = "hidden";
      carry.name = pressed.name;
      carry.value = pressed.value;
      carry.setAttribute("data-carry", "");
      form.appendChild(carry);
    }
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.disabled = true;
      b.setAttribute("aria-busy", "true");
    });
    showBusy(form);
  });
  // A visible "Mengunggah…"/"Menandatangani…" (the data-busy text) after the last submit button,
  // announced as a status: uploads and signing take seconds on mobile data.
  function showBusy(form) {
    if (form.querySelector(".busy-note")) return;
    var buttons = form.querySelectorAll("button[type=submit]");
    var last = buttons[buttons.length - 1];
    var note = document.createElement("p");
    note.className = "busy-note";
    note.setAttribute("role", "status");
    (last ? last.parentNode : form).insertBefore(note, last ? last.nextSibling : null);
    // filled a moment later, so screen readers announce the change of an existing live region
    window.setTimeout(function () { note.textContent = form.getAttribute("data-busy") || "…"; }, 50);
  }
  // Re-enable them when the page is shown again from the back/forward cache.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy] input[data-carry], form[data-busy] .busy-note").forEach(function (old) { old.remove(); });
    document.querySelectorAll("form[data-busy] button[type=submit]").forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    });
  });
  // A 409 (someone else changed it first) or 422 (refused input) answer carries the re-rendered
  // fragment with its message: show it instead of dropping it as htmx does with error statuses.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var status = ev.detail.xhr.status;
    if (status === 409 || status === 422) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
})();
