/* SemPelMas service worker (served from /sw.js, scope /).
   It keeps the app shell only: the stylesheet, the scripts, the icons and the offline page. Pages,
   attachments and letters carry personal data and are never stored: a shared phone keeps nothing of
   its users after they log out. Pages always come from the network; without one, the offline page. */
"use strict";

var VERSION = {{ version|tojson }};
var CACHE = "sempelmas-shell-" + VERSION;
var OFFLINE_URL = {{ offline_url|tojson }};
var SHELL = {{ shell|tojson }};
var IN_SHELL = {};
SHELL.forEach(function (url) { IN_SHELL[url] = true; });

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      // asked again of the server (a new version must not pick up yesterday's file), which answers
      // 304 for what the page has just loaded
      return cache.addAll(SHELL.map(function (url) { return new Request(url, { cache: "no-cache" }); }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name !== CACHE; })
        .map(function (name) { return caches.delete(name); }));
    }).then(function () {
      // the page request starts while the worker wakes up, instead of after
      if (self.registration.navigationPreload) return self.registration.navigationPreload.enable();
    }).then(function () { return self.clients.claim(); })
  );
});

function offlinePage() {
  return caches.match(OFFLINE_URL).then(function (page) { return page || Response.error(); });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;  // form posts and uploads go to the network untouched
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // network first, nothing stored; the offline page when there is no network
    event.respondWith(
      Promise.resolve(event.preloadResponse).then(function (preloaded) {
        return preloaded || fetch(request);
      }).catch(offlinePage)
    );
    return;
  }
  if (IN_SHELL[url.pathname + url.search]) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
  }
  // anything else (htmx fragments, files, PDFs): the browser's own handling, never cached here
});

/* Push notifications (services/operations/push.py): the payload carries only a short text, the tracking
   number and the address to open; nothing of it is stored. A newer notice about the same request replaces
   the older one (its tag). A tap focuses a window of the app on that address, or opens one. */
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var scope = self.registration.scope;
  event.waitUntil(self.registration.showNotification(data.title || "SemPelMas", {
    body: data.body || "",
    tag: data.tag || "sempelmas",
    renotify: true,
    icon: {{ push_icon|tojson }},
    data: { url: data.url || scope }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "", self.registration.scope);
  if (target.origin !== self.location.origin) target = new URL(self.registration.scope);  // only this site
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (windows[i].url === target.href && "focus" in windows[i]) return windows[i].focus();
      }
      var open = windows.filter(function (w) { return "navigate" in w && new URL(w.url).origin === target.origin; });
      if (!open.length) return self.clients.openWindow(target.href);
      // the app's window goes to the request, then comes to the front
      return open[0].navigate(target.href).then(function (w) {
        return (w || open[0]).focus().catch(function () { return w; });
      }, function () { return self.clients.openWindow(target.href); });
    })
  );
});
