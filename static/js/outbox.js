// The outbox: a request form sent without a signal is kept on this phone (IndexedDB, photos as Blobs) and sent
// when the signal is back: by Background Sync in the service worker where the browser has it, else when a page
// with the outbox opens or the phone goes online. Sent once: the form's key (kunci) is the idempotency key the
// server honours. A fresh CSRF token is asked for at sending time (the stored one may belong to a session that
// has ended); signed out, or signed in as someone else, the form stays and the panel says why.
// Loaded by the pages that carry templates/pwa/_outbox.html and imported by the service worker.
(function (g) {
  "use strict";
  var DB = "sempelmas-outbox", STORE = "forms", TAG = "sempelmas-outbox";
  var RETRY = { waiting: 1, login: 1, account: 1, error: 1 };  // "check" waits for the person

  function tx(mode, work) {
    return new Promise(function (ok, fail) {
      var open = g.indexedDB.open(DB, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE, { keyPath: "key" }); };
      open.onerror = function () { fail(open.error); };
      open.onsuccess = function () {
        var db = open.result, t = db.transaction(STORE, mode), req = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); ok(req && req.result); };
        t.onerror = t.onabort = function () { db.close(); fail(t.error); };
      };
    });
  }
  function list() { return tx("readonly", function (s) { return s.getAll(); }); }
  function put(rec) { return tx("readwrite", function (s) { return s.put(rec); }); }
  function drop(key) { return tx("readwrite", function (s) { return s.delete(key); }); }

  // A posted form as kept: [name, text] and [name, Blob, file name]; an empty file input is left out.
  function keep(data, url) {
    var fields = [], rec = { url: url, saved: Date.now(), state: "waiting", fields: fields };
    data.forEach(function (value, name) {
      if (typeof value === "string") {
        fields.push([name, value]);
        if (name === "kunci") rec.key = value;
        if (name === "pemilik") rec.owner = value;
        if (name === "judul") rec.title = value;
      } else if (value.size) {
        fields.push([name, value, value.name]);
      }
    });
    if (!rec.key) return Promise.reject(new Error("no kunci"));
    return put(rec).then(function () { return rec; });
  }

  // One sender at a time across the pages and the worker: the second waits, then finds the form gone (sent) or
  // still there (the first had no signal). The server's idempotency key covers a browser without Web Locks.
  function withLock(work) {
    var locks = g.navigator && g.navigator.locks;
    return locks ? locks.request(TAG, work) : work();
  }

  function mark(rec, state) { rec.state = state; return put(rec).then(function () { return rec; }); }

  function sendOne(rec, session) {
    if (!session) return mark(rec, "login");
    if (session.owner !== rec.owner) return mark(rec, "account");
    var body = new FormData();
    rec.fields.forEach(function (f) {
      if (f[0] === "csrf_token" || f[0] === "langkah") return;
      if (f.length > 2) body.append(f[0], f[1], f[2]); else body.append(f[0], f[1]);
    });
    body.append("csrf_token", session.csrf);
    body.append("langkah", "kirim");
    return fetch(rec.url, { method: "POST", body: body, credentials: "same-origin", redirect: "manual",
                            headers: { "X-SemPelMas-Outbox": "1", "Accept": "application/json" } })
      .then(function (resp) {
        if (resp.status === 201) {
          return resp.json().then(function (done) {
            return drop(rec.key).then(function () { rec.state = "sent"; rec.number = done.number; rec.link = done.url; return rec; });
          });
        }
        return mark(rec, resp.status === 422 || resp.status === 413 ? "check" : "error");
      });
  }

  // Send every kept form that may go now; resolves with the records as they end up, rejects without a network
  // (so that Background Sync tries again later).
  function sendAll(sessionUrl) {
    return withLock(function () {
      return list().then(function (recs) {
        var due = recs.filter(function (r) { return RETRY[r.state]; });
        if (!due.length) return [];
        return fetch(sessionUrl, { credentials: "same-origin", cache: "no-store", redirect: "manual",
                                   headers: { "Accept": "application/json" } })
          .then(function (resp) {
            if (resp.status === 403) return { owner: null };
            if (resp.status !== 200) return null;  // signed out (401, or a redirect to the login)
            return resp.json();
          })
          .then(function (session) {
            var done = [];
            return due.reduce(function (prev, rec) {
              return prev.then(function () { return sendOne(rec, session); }).then(function (r) { done.push(r); });
            }, Promise.resolve()).then(function () { return done; });
          });
      });
    });
  }

  g.SemPelMasOutbox = { TAG: TAG, keep: keep, list: list, drop: drop, put: put, sendAll: sendAll };
  if (!g.document) return;  // in the service worker: the functions only

  // ---------------------------------------------------------------- the page: the panel and the form
  var box = g.document.getElementById("outbox");
  var sent = [];
  function t(name) { return box.getAttribute("data-t-" + name) || ""; }
  function el(tag, cls, text) {
    var e = g.document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function button(label, act, key, cls) {
    var b = el("button", cls || "", label);
    b.type = "button";
    b.setAttribute("data-act", act);
    b.setAttribute("data-key", key);
    return b;
  }

  function render() {
    if (!box) return Promise.resolve();
    return list().then(function (recs) {
      var ul = box.querySelector("[data-outbox-list]");
      ul.textContent = "";
      recs.sort(function (a, b) { return a.saved - b.saved; }).forEach(function (rec) {
        var li = el("li", "outbox-item");
        li.setAttribute("data-state", rec.state);
        li.appendChild(el("strong", "", rec.title || rec.url));
        li.appendChild(el("span", "muted", " · " + t("saved") + " " +
          new Date(rec.saved).toLocaleString(g.document.documentElement.lang || "id", { dateStyle: "short", timeStyle: "short" })));
        li.appendChild(el("p", "outbox-state", t(rec.state)));
        var acts = el("p", "actions");
        if (rec.state === "check") acts.appendChild(button(t("open"), "open", rec.key, "primary"));
        else if (rec.state === "login" || rec.state === "account") {
          var a = el("a", "button primary", t("sign-in"));
          a.href = box.getAttribute("data-login");
          acts.appendChild(a);
        } else if (g.navigator.onLine) acts.appendChild(button(t("send"), "send", rec.key, "primary"));
        acts.appendChild(button(t("discard"), "discard", rec.key, "danger"));
        li.appendChild(acts);
        ul.appendChild(li);
      });
      sent.forEach(function (rec) {
        var li = el("li", "outbox-item");
        li.setAttribute("data-state", "sent");
        li.appendChild(el("strong", "", rec.title || ""));
        li.appendChild(el("p", "outbox-state", t("sent").replace("{n}", rec.number)));
        var a = el("a", "button", t("see"));
        a.href = rec.link;
        li.appendChild(a);
        ul.appendChild(li);
      });
      box.hidden = !ul.children.length;
    });
  }

  function send() {
    if (!g.navigator.onLine || !box) return Promise.resolve();
    return sendAll(box.getAttribute("data-session")).then(function (done) {
      done.forEach(function (r) { if (r.state === "sent") sent.push(r); });
    }).catch(askSync).then(render);  // no signal after all: kept, and tried again later
  }

  function askSync() {
    var sw = g.navigator.serviceWorker;
    if (!sw) return Promise.resolve();
    return sw.ready.then(function (reg) { return reg.sync && reg.sync.register(TAG); })
      .catch(function () { /* no Background Sync: sent when a page opens with a signal */ });
  }

  // Opened after a refusal: the form again at the server, with what was typed (the files are there already,
  // kept as drafts under the same key when the server refused them).
  function reopen(rec) {
    return fetch(box.getAttribute("data-session"), { credentials: "same-origin", cache: "no-store",
                                                     headers: { "Accept": "application/json" } })
      .then(function (resp) { if (resp.status !== 200) throw new Error("signed out"); return resp.json(); })
      .then(function (session) {
        var form = el("form");
        form.method = "post";
        form.action = rec.url;
        form.hidden = true;
        rec.fields.forEach(function (f) {
          if (f.length > 2 || f[0] === "csrf_token" || f[0] === "langkah") return;
          var input = el("textarea");
          input.name = f[0];
          input.value = f[1];
          form.appendChild(input);
        });
        [["csrf_token", session.csrf], ["langkah", "ubah"]].forEach(function (f) {
          var input = el("input");
          input.type = "hidden";
          input.name = f[0];
          input.value = f[1];
          form.appendChild(input);
        });
        g.document.body.appendChild(form);
        return drop(rec.key).then(function () { form.submit(); });
      });
  }

  if (box) {
    box.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-act]");
      if (!b) return;
      var key = b.getAttribute("data-key"), act = b.getAttribute("data-act");
      if (act === "discard") {
        if (g.confirm(t("confirm"))) drop(key).then(render);
      } else if (act === "send") {
        send();
      } else if (act === "open") {
        list().then(function (recs) {
          var rec = recs.filter(function (r) { return r.key === key; })[0];
          if (rec) return reopen(rec);
        }).catch(render);
      }
    });
  }

  // Sent without a signal: kept here instead of the browser's error page. (With a signal that fails on the
  // way, the service worker keeps the form: templates/pwa/sw.js.)
  g.document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (g.navigator.onLine || !box || !form.hasAttribute("data-outbox-form")) return;
    if (ev.submitter && ev.submitter.value === "ubah") return;  // going back to edit is not a sending
    ev.preventDefault();
    ev.stopPropagation();
    keep(new FormData(form, ev.submitter), form.action).then(askSync).then(render).then(function () {
      box.setAttribute("tabindex", "-1");
      box.focus();
    });
  }, true);

  g.addEventListener("online", send);
  g.addEventListener("offline", render);
  if (g.navigator.serviceWorker) {
    g.navigator.serviceWorker.addEventListener("message", function (ev) {
      if (ev.data && ev.data.outbox) {
        (ev.data.sent || []).forEach(function (r) { sent.push(r); });
        render();
      }
    });
  }
  render().then(send);
})(self);
