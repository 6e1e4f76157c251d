{#- SemPelMas service worker (served from /sw.js, scope /). The comments are Jinja's: not sent to phones.
   It keeps the app shell (the stylesheet, the scripts, the icons and the offline page) and an anonymous copy
   of the public pages a resident reads before asking (the service list and each service's requirements),
   fetched without cookies, so no copy holds anyone's name or session. Personal pages, attachments and
   letters are never stored: a shared phone keeps nothing of its users after they log out. Other pages
   always come from the network; without one, the offline page.
   A request form sent without a signal is kept in IndexedDB (static/js/outbox.js) and sent when the signal
   is back (Background Sync). -#}
"use strict";

var VERSION = {{ version|tojson }};
var CACHE = "sempelmas-shell-" + VERSION;
var OFFLINE_URL = {{ offline_url|tojson }};
var SHELL = {{ shell|tojson }};
var IN_SHELL = {};
SHELL.forEach(function (url) { IN_SHELL[url] = true; });
{# the public pages kept for reading offline: the list itself and one level below it (/layanan, /layanan/<code>) #}
var PUBLIC_CACHE = "sempelmas-public";
var PUBLIC_PAGES = {{ public_pages|tojson }};
var PUBLIC_MAX = 40;  {# pages kept; the oldest copy goes first #}
var PUBLIC_FRESH_MS = 6 * 3600 * 1000;  {# a copy younger than this is not fetched again #}
var PUBLIC_MAX_AGE_MS = 30 * 24 * 3600 * 1000;  {# an older copy is not shown #}
var PUBLIC_WAIT_MS = 6000;  {# a weak signal: the kept copy after this long #}
var FORM_PREFIX = {{ form_prefix|tojson }};
var SESSION_URL = {{ session_url|tojson }};
var STATIC_PREFIX = {{ static_prefix|tojson }};

importScripts({{ outbox_script|tojson }});
var Outbox = self.SemPelMasOutbox;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      {# asked again of the server (a new version must not pick up yesterday's file), which answers #}
      {# 304 for what the page has just loaded #}
      return cache.addAll(SHELL.map(function (url) { return new Request(url, { cache: "no-cache" }); }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name !== CACHE && name !== PUBLIC_CACHE; })
        .map(function (name) { return caches.delete(name); }));
    }).then(function () {
      {# the page request starts while the worker wakes up, instead of after #}
      if (self.registration.navigationPreload) return self.registration.navigationPreload.enable();
    }).then(function () { return self.clients.claim(); })
  );
});

function offlinePage() {
  return caches.match(OFFLINE_URL).then(function (page) { return page || Response.error(); });
}

function isPublicPage(url) {
  if (url.search) return false;
  return PUBLIC_PAGES.some(function (base) {
    var rest = url.pathname.slice(base.length + 1);
    return url.pathname === base || (url.pathname.indexOf(base + "/") === 0 && rest && rest.indexOf("/") < 0);
  });
}

function savedAt(resp) { return Number(resp && resp.headers.get("X-SemPelMas-Saved")) || 0; }

{# The anonymous copy: fetched without cookies (a signed-in person's page carries their name and session), #}
{# stamped with its time, and the oldest copies dropped beyond PUBLIC_MAX. #}
function keepPublicCopy(url) {
  return caches.open(PUBLIC_CACHE).then(function (cache) {
    return cache.match(url).then(function (old) {
      if (old && Date.now() - savedAt(old) < PUBLIC_FRESH_MS) return;
      return fetch(url, { credentials: "omit", redirect: "error", headers: { "Accept": "text/html" } })
        .then(function (resp) {
          if (resp.status !== 200 || (resp.headers.get("Content-Type") || "").indexOf("text/html") !== 0) return;
          return resp.blob().then(function (body) {
            var headers = new Headers({ "Content-Type": resp.headers.get("Content-Type"),
                                        "X-SemPelMas-Saved": String(Date.now()) });
            return cache.put(url, new Response(body, { status: 200, headers: headers }));
          }).then(function () { return trimPublic(cache); });
        });
    });
  }).catch(function () { /* no copy this time */ });
}

function trimPublic(cache) {
  return cache.keys().then(function (keys) {
    if (keys.length <= PUBLIC_MAX) return;
    return Promise.all(keys.map(function (req) { return cache.match(req); })).then(function (resps) {
      var order = keys.map(function (req, i) { return [savedAt(resps[i]), req]; })
        .sort(function (a, b) { return a[0] - b[0]; });
      return Promise.all(order.slice(0, keys.length - PUBLIC_MAX).map(function (o) { return cache.delete(o[1]); }));
    });
  });
}

function keptPublicCopy(url) {
  return caches.open(PUBLIC_CACHE).then(function (cache) { return cache.match(url); }).then(function (hit) {
    return hit && Date.now() - savedAt(hit) < PUBLIC_MAX_AGE_MS ? hit : null;
  });
}

{# Network first; without a network (or after PUBLIC_WAIT_MS on a weak signal) the kept copy, else the offline #}
{# page. A page that came from the network refreshes the copy (at most every PUBLIC_FRESH_MS). #}
function publicPage(event, url) {
  var network = Promise.resolve(event.preloadResponse).then(function (preloaded) {
    return preloaded || fetch(event.request);
  });
  event.waitUntil(network.then(function (resp) {
    if (resp.ok) return keepPublicCopy(url.href);
  }, function () { /* offline: nothing to refresh */ }));
  var slow = new Promise(function (done) { setTimeout(done, PUBLIC_WAIT_MS); }).then(function () {
    return keptPublicCopy(url.href).then(function (hit) { return hit || network; });
  });
  return Promise.race([network, slow]).catch(function () {
    return keptPublicCopy(url.href).then(function (hit) { return hit || offlinePage(); });
  });
}

{# A request form posted when the signal fails on the way (the page thought it was online): kept in the outbox #}
{# instead of the browser's error page, then the offline page, which lists it as waiting. #}
function sendOrKeep(request) {
  var copy = request.clone();
  return fetch(request).catch(function () {
    return copy.formData().then(function (data) {
      if (data.get("langkah") === "ubah") return offlinePage();  {# going back to edit is not a sending #}
      return Outbox.keep(data, copy.url).then(function () {
        return self.registration.sync && self.registration.sync.register(Outbox.TAG);
      }).catch(function () { /* no Background Sync: sent when a page opens with a signal */ })
        .then(function () { return Response.redirect(OFFLINE_URL, 303); });
    }).catch(offlinePage);
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag !== Outbox.TAG) return;
  {# a rejection (still no network) makes the browser try again later #}
  event.waitUntil(Outbox.sendAll(SESSION_URL).then(function (done) {
    var sent = done.filter(function (r) { return r.state === "sent"; })
      .map(function (r) { return { title: r.title, number: r.number, link: r.link }; });
    return self.clients.matchAll({ type: "window" }).then(function (pages) {
      pages.forEach(function (page) { page.postMessage({ outbox: true, sent: sent }); });
    });
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    if (request.method === "POST" && request.mode === "navigate" && url.pathname.indexOf(FORM_PREFIX) === 0) {
      event.respondWith(sendOrKeep(request));
    }
    return;  {# other form posts and uploads go to the network untouched #}
  }
  if (request.mode === "navigate") {
    if (isPublicPage(url)) {
      event.respondWith(publicPage(event, url));
      return;
    }
    {# network first, nothing stored; the offline page when there is no network #}
    event.respondWith(
      Promise.resolve(event.preloadResponse).then(function (preloaded) {
        return preloaded || fetch(request);
      }).catch(offlinePage)
    );
    return;
  }
  if (IN_SHELL[url.pathname + url.search]) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
  } else if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    {# a kept public page may name an older version of a shell file: offline, the current one stands in #}
    event.respondWith(fetch(request).catch(function () {
      return caches.match(request, { ignoreSearch: true, cacheName: CACHE }).then(function (hit) {
        return hit || Response.error();
      });
    }));
  }
  {# anything else (htmx fragments, files, PDFs): the browser's own handling, never cached here #}
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
