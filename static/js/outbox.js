// The outbox: a request form sent without a signal is kept on this phone (IndexedDB, photos as Blobs) and sent
// once the signal is back: Background Sync in the service worker (which imports this file), else the online
// event or the next page with the panel. Once: the form's key is the server's idempotency key. The CSRF token
// is asked for when sending (/warga/sinyal): signed out, or as another account, the form stays.
(function (g) {
  "use strict";
  var DB = "sempelmas-outbox", STORE = "forms", TAG = "sempelmas-outbox";
  var RETRY = { waiting: 1, login: 1, account: 1, error: 1 };  // "check" waits for the person
  var JSON_ONLY = { "Accept": "application/json" };

  function tx(mode, work) {
    return new Promise(function (ok, fail) {
      var open = g.indexedDB.open(DB, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE, { keyPath: "key" }); };
      open.onerror = function () { fail(open.error); };
      open.onsuccess = function () {
        var db = open.result, t = db.transaction(STORE, mode), req = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); ok(req.result); };
        t.onerror = t.onabort = function () { db.close(); fail(t.error); };
      };
    });
  }
  function list() { return tx("readonly", function (s) { return s.getAll(); }); }
  function put(rec) { return tx("readwrite", function (s) { return s.put(rec); }); }
  function drop(key) { return tx("readwrite", function (s) { return s.delete(key); }); }
  function mark(rec, state) { rec.state = state; return put(rec).then(function () { return rec; }); }

  // fields as [name, text] or [name, Blob, file name]; an empty file input is left out
  function keep(data, url) {
    var rec = { url: url, saved: Date.now(), state: "waiting", fields: [] };
    data.forEach(function (value, name) {
      if (typeof value !== "string") {
        if (value.size) rec.fields.push([name, value, value.name]);
        return;
      }
      rec.fields.push([name, value]);
      if (name === "kunci") rec.key = value;
      if (name === "pemilik") rec.owner = value;
      if (name === "judul") rec.title = value;
    });
    return rec.key ? put(rec).then(function () { return rec; }) : Promise.reject(new Error("kunci"));
  }

  function sendOne(rec, session) {
    if (!session) return mark(rec, "login");
    if (session.owner !== rec.owner) return mark(rec, "account");
    var body = new FormData();
    rec.fields.forEach(function (f) {
      if (f[0] !== "csrf_token" && f[0] !== "langkah") body.append.apply(body, f);
    });
    body.append("csrf_token", session.csrf);
    body.append("langkah", "kirim");
    return fetch(rec.url, { method: "POST", body: body, credentials: "same-origin", redirect: "manual",
                            headers: { "X-SemPelMas-Outbox": "1", "Accept": "application/json" } })
      .then(function (resp) {
        if (resp.status !== 201) return mark(rec, resp.status === 422 || resp.status === 413 ? "check" : "error");
        return resp.json().then(function (done) {
          rec.state = "sent"; rec.number = done.number; rec.link = done.url;
          return drop(rec.key).then(function () { return rec; });
        });
      });
  }

  // Resolves with the records as they end up; rejects without a network (Background Sync then tries again).
  // One sender at a time (pages and worker): the second waits, then finds the form sent or still there.
  function sendAll(sessionUrl) {
    var work = function () {
      return list().then(function (recs) {
        var due = recs.filter(function (r) { return RETRY[r.state]; });
        if (!due.length) return [];
        return fetch(sessionUrl, { credentials: "same-origin", cache: "no-store", redirect: "manual", headers: JSON_ONLY })
          .then(function (resp) {  // 401 or a redirect: signed out; 403: not a resident's session
            return resp.status === 200 ? resp.json() : resp.status === 403 ? { owner: null } : null;
          })
          .then(function (session) {
            var done = [];
            return due.reduce(function (prev, rec) {
              return prev.then(function () { return sendOne(rec, session); }).then(function (r) { done.push(r); });
            }, Promise.resolve()).then(function () { return done; });
          });
      });
    };
    var locks = g.navigator && g.navigator.locks;
    return locks ? locks.request(TAG, work) : work();
  }

  g.SemPelMasOutbox = { TAG: TAG, keep: keep, list: list, put: put, drop: drop, sendAll: sendAll };
  var doc = g.document, box = doc && doc.getElementById("outbox");
  if (!box) return;  // the service worker, or a page without the panel

  // ---------------------------------------------------------------- the page: the panel and the form
  var sent = [];
  function t(name) { return box.getAttribute("data-t-" + name) || ""; }
  function el(tag, cls, text) {
    var e = doc.createElement(tag);
    e.className = cls || "";
    e.textContent = text || "";
    return e;
  }
  function button(label, act, key, cls) {
    var b = el("button", cls, label);
    b.type = "button";
    b.setAttribute("data-act", act);
    b.setAttribute("data-key", key);
    return b;
  }
  function link(label, href, cls) { var a = el("a", cls, label); a.href = href; return a; }

  // The panel's markup and texts come with the offline page (templates/pwa/_outbox.html), which the service
  // worker keeps: other pages carry an empty slot, so they pay for the texts only when there is a form to show.
  function panel() {
    if (box.hasAttribute("data-t-waiting")) return Promise.resolve();
    return fetch(box.getAttribute("data-from")).then(function (resp) { return resp.text(); }).then(function (html) {
      var full = new DOMParser().parseFromString(html, "text/html").getElementById("outbox");
      box.replaceWith(full);
      box = full;
      box.addEventListener("click", act);
    });
  }

  function render() {
    return list().then(function (recs) {
      if (!recs.length && !sent.length) { box.hidden = true; return; }
      return panel().then(function () {
        var ul = box.querySelector("ul");
        ul.textContent = "";
        recs.sort(function (a, b) { return a.saved - b.saved; }).forEach(function (rec) {
          var li = el("li"), acts = el("p", "actions");
          li.setAttribute("data-state", rec.state);
          li.appendChild(el("strong", "", rec.title || rec.url));
          li.appendChild(el("span", "muted", " · " + t("saved") + " " + new Date(rec.saved).toLocaleString(
            doc.documentElement.lang || "id", { dateStyle: "short", timeStyle: "short" })));
          li.appendChild(el("p", "", t(rec.state)));
          if (rec.state === "check") acts.appendChild(button(t("open"), "open", rec.key, "primary"));
          else if (rec.state === "login" || rec.state === "account") acts.appendChild(link(t("sign-in"), box.getAttribute("data-login"), "button primary"));
          else if (g.navigator.onLine) acts.appendChild(button(t("send"), "send", rec.key, "primary"));
          acts.appendChild(button(t("discard"), "discard", rec.key, "danger"));
          li.appendChild(acts);
          ul.appendChild(li);
        });
        sent.forEach(function (rec) {
          var li = el("li");
          li.setAttribute("data-state", "sent");
          li.appendChild(el("strong", "", rec.title));
          li.appendChild(el("p", "", t("sent").replace("{n}", rec.number)));
          li.appendChild(link(t("see"), rec.link, "button"));
          ul.appendChild(li);
        });
        box.hidden = false;
      });
    }).catch(function () { /* no IndexedDB (private mode): nothing kept, nothing to show */ });
  }

  function askSync() {
    var sw = g.navigator.serviceWorker;
    return sw ? sw.ready.then(function (reg) { return reg.sync && reg.sync.register(TAG); }).catch(function () {})
      : Promise.resolve();  // without Background Sync: sent when a page opens with a signal
  }

  function send() {
    if (!g.navigator.onLine) return render();
    return sendAll(box.getAttribute("data-session")).then(function (done) {
      done.forEach(function (r) { if (r.state === "sent") sent.push(r); });
    }, askSync).then(render);  // no signal after all: kept, tried again later
  }

  // After a refusal: the form again at the server with what was typed; its photos are there already (kept as
  // drafts under the same key when it was refused).
  function reopen(rec) {
    return fetch(box.getAttribute("data-session"), { credentials: "same-origin", cache: "no-store", headers: JSON_ONLY })
      .then(function (resp) { if (resp.status !== 200) throw new Error("signed out"); return resp.json(); })
      .then(function (session) {
        var form = el("form");
        form.method = "post";
        form.action = rec.url;
        form.hidden = true;
        rec.fields.filter(function (f) { return f.length < 3 && f[0] !== "csrf_token" && f[0] !== "langkah"; })
          .concat([["csrf_token", session.csrf], ["langkah", "ubah"]]).forEach(function (f) {
            var input = el("textarea");
            input.name = f[0];
            input.value = f[1];
            form.appendChild(input);
          });
        doc.body.appendChild(form);
        return drop(rec.key).then(function () { form.submit(); });
      });
  }

  function act(ev) {
    var b = ev.target.closest("button[data-act]");
    if (!b) return;
    var key = b.getAttribute("data-key"), what = b.getAttribute("data-act");
    if (what === "send") send();
    else if (what === "discard") { if (g.confirm(t("confirm"))) drop(key).then(render); }
    else list().then(function (recs) {
      var rec = recs.filter(function (r) { return r.key === key; })[0];
      if (rec) return reopen(rec);
    }).catch(render);
  }
  box.addEventListener("click", act);

  // Sent without a signal: kept here instead of the browser's error page (when the signal fails on the way, the
  // service worker keeps it: templates/pwa/sw.js). Going back to edit ("ubah") is not a sending.
  doc.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (g.navigator.onLine || !form.hasAttribute("data-outbox-form") || (ev.submitter && ev.submitter.value === "ubah")) return;
    ev.preventDefault();
    ev.stopPropagation();  // before app.js disables the buttons for an upload that is not happening
    keep(new FormData(form, ev.submitter), form.action).then(askSync).then(render).then(function () {
      box.setAttribute("tabindex", "-1");
      box.focus();
    });
  }, true);

  g.addEventListener("online", send);
  g.addEventListener("offline", render);
  if (g.navigator.serviceWorker) {
    g.navigator.serviceWorker.addEventListener("message", function (ev) {
      if (ev.data && ev.data.outbox) { sent = sent.concat(ev.data.sent || []); render(); }
    });
  }
  send();
})(self);
