// Push notifications on this phone: the "Beri tahu saya" offer on a request page and the switch on the
// notifications page (templates/push/). Shown only where the browser can receive pushes (service worker,
// PushManager, Notification) and has not refused them; the permission is asked only when the resident taps.
// The subscription goes to the server as JSON with the page's CSRF token; pages work without this file.
(function () {
  "use strict";
  var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  var boxes = document.querySelectorAll("[data-push]");
  if (!boxes.length) return;

  function keyBytes(b64) {
    var s = (b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(s), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function post(box, url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": box.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (resp) {
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      return resp.json();
    });
  }

  function registration() {
    // the worker pwa.js registers; ready waits for it to be active
    return navigator.serviceWorker.getRegistration().then(function (reg) {
      return reg || navigator.serviceWorker.ready;
    });
  }

  // whether the server has this phone's subscription for the signed-in user (a shared phone's browser may hold
  // one made by someone else, or one turned off from the devices list): short SHA-256 hashes of the endpoints
  function known(box, sub) {
    if (!sub) return Promise.resolve(false);
    var list = (box.dataset.known || "").split(" ");
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(sub.endpoint)).then(function (buf) {
      var hex = Array.prototype.map.call(new Uint8Array(buf), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("").slice(0, 16);
      return list.indexOf(hex) >= 0;
    });
  }

  function show(box, state) {
    var text = box.querySelector("[data-push-state]");
    var on = box.querySelector("[data-push-on]"), off = box.querySelector("[data-push-off]");
    box.dataset.state = state;
    if (text) text.textContent = box.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)] || "";
    if (on) on.hidden = state === "on" || state === "working" || state === "denied";
    if (off) off.hidden = state !== "on";
  }

  function turnOn(box) {
    show(box, "working");
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { show(box, "denied"); return null; }
      return registration().then(function (reg) {
        return reg.pushManager.getSubscription().then(function (existing) {
          return existing || reg.pushManager.subscribe({
            userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key)
          });
        });
      }).then(function (sub) {
        return post(box, box.dataset.subscribe, sub.toJSON());
      }).then(function () { show(box, "on"); });
    }).catch(function (err) {
      console.warn("SemPelMas: push not turned on", err);
      show(box, "failed");
    });
  }

  function turnOff(box) {
    show(box, "working");
    registration().then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (sub) {
      if (!sub) return null;
      var endpoint = sub.endpoint;
      return sub.unsubscribe().then(function () {
        return post(box, box.dataset.unsubscribe, { endpoint: endpoint });
      });
    }).then(function () { show(box, "off"); }, function (err) {
      console.warn("SemPelMas: push not turned off", err);
      show(box, "failed");
    });
  }

  Array.prototype.forEach.call(boxes, function (box) {
    if (!supported || box.dataset.ready) return;
    box.dataset.ready = "1";
    var settings = box.dataset.push === "settings";
    var note = document.getElementById("push-unsupported");
    box.addEventListener("click", function (ev) {
      if (ev.target.closest("[data-push-on]")) turnOn(box);
      else if (ev.target.closest("[data-push-off]")) turnOff(box);
    });
    if (Notification.permission === "denied") {
      if (settings) { box.hidden = false; show(box, "denied"); if (note) note.hidden = true; }
      return;  // the offer is not shown: the resident said no to this site
    }
    registration().then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (sub) {
      return known(box, sub);
    }).then(function (on) {
      if (settings) {
        show(box, on ? "on" : "off");
        box.hidden = false;
        if (note) note.hidden = true;
      } else if (!on) {
        show(box, "");
        box.hidden = false;  // the offer only while this phone is not told yet
      }
    }).catch(function (err) { console.warn("SemPelMas: push state unknown", err); });
  });
})();
