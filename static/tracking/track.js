// Tracker page: this phone as the athlete's tracker over /ws/track/ (PROTOCOL.md §1).
//
// Every fix is written to IndexedDB before anything else, and leaves it only when the
// server acks the batch holding it: a lost signal, a reload or a phone restart loses
// nothing. Batches are numbered (seq) only after a welcome told us the server's
// last_seq for this device, and the next seq is kept with them, so a seq is never
// reused for other points; after each welcome every batch above last_seq is resent,
// and a resend the server already has is acked and stored once.
(function () {
  "use strict";
  var BATCH_EVERY_MS = 5000;
  var MAX_BATCH = 500;
  var KEEP_MESSAGES = 20;
  var SHOW_MESSAGES = 5;

  // --- storage: IndexedDB, or memory where there is none ---------------------------
  function req(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function openDb() {
    if (!window.indexedDB) { return Promise.reject(new Error("no IndexedDB")); }
    var open = indexedDB.open("pace-tracker", 1);
    open.onupgradeneeded = function () {
      var db = open.result;
      db.createObjectStore("meta", { keyPath: "key" });
      db.createObjectStore("points", { autoIncrement: true }).createIndex("token", "token");
      db.createObjectStore("batches", { keyPath: ["token", "seq"] });
      db.createObjectStore("messages", { keyPath: ["token", "id"] });
    };
    return req(open).then(function (db) {
      // A logout elsewhere deletes the database (track_forget.js): let it.
      db.onversionchange = function () { db.close(); };
      return db;
    });
  }

  function Store(db) { this.db = db; this.mem = { meta: {}, points: [], batches: [], messages: [] }; }

  // Run fn(stores) in one transaction; resolves with fn's result once committed.
  Store.prototype.tx = function (names, mode, fn) {
    var db = this.db;
    return new Promise(function (resolve, reject) {
      var t = db.transaction(names, mode), out;
      var stores = {};
      names.forEach(function (n) { stores[n] = t.objectStore(n); });
      Promise.resolve(fn(stores)).then(function (v) { out = v; }, function (e) { try { t.abort(); } catch (x) { /* done */ } reject(e); });
      t.oncomplete = function () { resolve(out); };
      t.onerror = t.onabort = function () { reject(t.error || new Error("aborted")); };
    });
  };

  Store.prototype.meta = function (key) {
    if (!this.db) { return Promise.resolve(this.mem.meta[key] || { key: key }); }
    return this.tx(["meta"], "readonly", function (s) {
      return req(s.meta.get(key)).then(function (m) { return m || { key: key }; });
    });
  };
  Store.prototype.putMeta = function (meta) {
    if (!this.db) { this.mem.meta[meta.key] = meta; return Promise.resolve(meta); }
    return this.tx(["meta"], "readwrite", function (s) { s.meta.put(meta); return meta; });
  };
  // A fix and the meta that remembers it as the last one, together.
  Store.prototype.addPoint = function (meta, p) {
    meta.lastFix = { lat: p.lat, lon: p.lon, t: p.t };
    if (!this.db) { this.mem.points.push({ token: meta.key, p: p }); return Promise.resolve(); }
    return this.tx(["meta", "points"], "readwrite", function (s) {
      s.points.add({ token: meta.key, p: p });
      s.meta.put(meta);
    });
  };
  // Number what is not in a batch yet: seqs from meta.nextSeq on, kept with the batches.
  Store.prototype.cut = function (meta) {
    var token = meta.key;
    if (!this.db) {
      var mine = this.mem.points.filter(function (x) { return x.token === token; });
      this.mem.points = this.mem.points.filter(function (x) { return x.token !== token; });
      for (var i = 0; i < mine.length; i += MAX_BATCH) {
        this.mem.batches.push({ token: token, seq: meta.nextSeq++, points: mine.slice(i, i + MAX_BATCH).map(function (x) { return x.p; }) });
      }
      return Promise.resolve(meta);
    }
    return this.tx(["meta", "points", "batches"], "readwrite", function (s) {
      var range = IDBKeyRange.only(token);
      return Promise.all([req(s.points.index("token").getAll(range)), req(s.points.index("token").getAllKeys(range))]).then(function (got) {
        var points = got[0].map(function (x) { return x.p; }), keys = got[1];
        if (!points.length) { return meta; }
        for (var i = 0; i < points.length; i += MAX_BATCH) {
          s.batches.put({ token: token, seq: meta.nextSeq++, points: points.slice(i, i + MAX_BATCH) });
        }
        keys.forEach(function (k) { s.points.delete(k); });
        s.meta.put(meta);
        return meta;
      });
    });
  };
  Store.prototype.batches = function (token) {
    if (!this.db) { return Promise.resolve(this.mem.batches.filter(function (b) { return b.token === token; })); }
    var range = IDBKeyRange.bound([token, -Infinity], [token, Infinity]);
    return this.tx(["batches"], "readonly", function (s) { return req(s.batches.getAll(range)); });
  };
  // The server has these: drop batches up to lastSeq (welcome) or exactly seq (ack).
  Store.prototype.drop = function (meta, low, high) {
    var token = meta.key;
    if (!this.db) {
      var gone = 0;
      this.mem.batches = this.mem.batches.filter(function (b) {
        var drop = b.token === token && b.seq >= low && b.seq <= high;
        if (drop) { gone += b.points.length; }
        return !drop;
      });
      meta.acked = (meta.acked || 0) + gone;
      return Promise.resolve(gone);
    }
    return this.tx(["meta", "batches"], "readwrite", function (s) {
      var range = IDBKeyRange.bound([token, low], [token, high]);
      return req(s.batches.getAll(range)).then(function (found) {
        var gone = 0;
        found.forEach(function (b) { gone += b.points.length; });
        s.batches.delete(range);
        meta.acked = (meta.acked || 0) + gone;
        s.meta.put(meta);
        return gone;
      });
    });
  };
  Store.prototype.waiting = function (token) {
    if (!this.db) {
      var n = this.mem.points.filter(function (x) { return x.token === token; }).length;
      this.mem.batches.forEach(function (b) { if (b.token === token) { n += b.points.length; } });
      return Promise.resolve(n);
    }
    var self = this;
    return this.tx(["points"], "readonly", function (s) {
      return req(s.points.index("token").count(IDBKeyRange.only(token)));
    }).then(function (loose) {
      return self.batches(token).then(function (bs) {
        bs.forEach(function (b) { loose += b.points.length; });
        return loose;
      });
    });
  };
  Store.prototype.addMessage = function (token, m) {
    var row = { token: token, id: m.id, from: m.from, text: m.text, t: m.t, to: m.to };
    if (!this.db) { this.mem.messages.push(row); return Promise.resolve(); }
    var range = IDBKeyRange.bound([token, -Infinity], [token, []]);
    return this.tx(["messages"], "readwrite", function (s) {
      s.messages.put(row);
      return req(s.messages.getAll(range)).then(function (all) {
        all.sort(function (a, b) { return a.t - b.t; });
        all.slice(0, Math.max(0, all.length - KEEP_MESSAGES)).forEach(function (old) { s.messages.delete([token, old.id]); });
      });
    });
  };
  Store.prototype.messages = function (token) {
    if (!this.db) { return Promise.resolve(this.mem.messages.filter(function (m) { return m.token === token; })); }
    var range = IDBKeyRange.bound([token, -Infinity], [token, []]);
    return this.tx(["messages"], "readonly", function (s) { return req(s.messages.getAll(range)); });
  };

  // --- formatting --------------------------------------------------------------------
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function duration(s) {
    s = Math.round(Math.abs(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? h + ":" + two(m) + ":" + two(sec) : m + ":" + two(sec);
  }
  function clock(t) { // 24-hour, as the rest of the page
    var d = new Date(t * 1000);
    return two(d.getHours()) + ":" + two(d.getMinutes());
  }
  // --- one entry's tracker -----------------------------------------------------------
  function Tracker(card, store, installId) {
    this.card = card;
    this.store = store;
    this.token = card.dataset.token;
    this.open = card.dataset.open === "1";
    this.device = "Pace web tracker " + installId + " / " + navigator.userAgent.slice(0, 100);
    this.meta = { key: this.token };
    this.ws = null;
    this.synced = false; // a welcome told us the server's last_seq on this socket
    this.sentOn = {}; // seq -> the socket it was sent on (resent on the next one)
    this.running = false;
    this.attempt = 0;
    this.hint = null; // seconds the server asked us to wait before reconnecting
    this.button = this.q(".start-tracking");
    this.button.addEventListener("click", this.toggle.bind(this));
    this.bindPost();
    this.bindSos();
    this.bindApp();
  }

  Tracker.prototype.q = function (sel) { return this.card.querySelector(sel); };
  Tracker.prototype.log = function (text) { this.q(".tracker-log").textContent = text; };

  // One tab (or installed app window) of this browser at a time drives an entry's
  // tracker: two would number batches from the same store. Another one waits, and
  // takes over when the first closes.
  Tracker.prototype.load = function () {
    var self = this, name = "pace-tracker-" + this.token;
    if (!navigator.locks) { return this.run(); }
    return new Promise(function (loaded) {
      navigator.locks.request(name, { ifAvailable: true }, function (lock) {
        if (lock) { self.run().then(loaded, loaded); return new Promise(function () {}); }
        self.status("idle", "Open in another tab or window of this browser");
        self.log("This entry is tracked from another tab or window: close it to track from here.");
        loaded();
        return navigator.locks.request(name, function () {
          self.log("");
          self.run();
          return new Promise(function () {}); // held as long as this page lives
        });
      });
    });
  };

  Tracker.prototype.run = function () {
    var self = this;
    this.active = true;
    return this.store.meta(this.token).then(function (meta) {
      self.meta = meta;
      meta.nextSeq = meta.nextSeq || 1;
      if (meta.kudos != null) { self.q(".t-kudos").textContent = meta.kudos; }
      if (meta.state) { self.showState(meta.state); }
      if (meta.sos) { self.sosStatus(meta.sos.received ? "Race control has your SOS (" + clock(meta.sos.received) + ")." : "Your SOS is waiting for a signal: it is sent as soon as there is one. Call 112 if you can."); }
      return self.store.messages(self.token);
    }).then(function (messages) {
      messages.sort(function (a, b) { return a.t - b.t; });
      messages.forEach(function (m) { self.showMessage(m, false); });
      self.show();
      if (!self.open) { self.status("idle", "Tracking is not open for this race yet"); return; }
      self.connect();
      if (self.meta.running) { self.start(); } // it was tracking before a reload or restart
      else { self.status("idle", "Not tracking"); }
    });
  };

  Tracker.prototype.show = function () {
    var self = this;
    this.q(".t-acked").textContent = this.meta.acked || 0;
    return this.store.waiting(this.token).then(function (n) {
      self.waitingCount = n;
      self.q(".t-pending").textContent = n;
      self.refreshStatus();
    });
  };

  Tracker.prototype.status = function (state, text) {
    var box = this.q(".t-status");
    box.dataset.state = state;
    this.q(".t-status-text").textContent = text;
  };

  Tracker.prototype.refreshStatus = function () {
    if (!this.open) { return; }
    var connected = this.ws && this.synced;
    if (!this.running) { this.status(connected ? "ready" : "idle", connected ? "Connected · not tracking" : "Not tracking"); return; }
    if (connected) { this.status("live", "Live · sending your position"); return; }
    var n = this.waitingCount || 0;
    this.status("offline", "No signal · " + n + " position" + (n === 1 ? "" : "s") + " kept on the phone");
  };

  Tracker.prototype.toggle = function () {
    if (this.running) { this.stop("Tracking stopped."); } else { this.start(); }
  };

  Tracker.prototype.start = function () {
    if (!this.active) { this.log("This entry is tracked from another tab or window: close it to track from here."); return; }
    if (!navigator.geolocation) { this.log("This browser cannot share its location."); return; }
    var self = this;
    this.running = true;
    this.meta.running = true;
    this.store.putMeta(this.meta);
    this.button.textContent = "Stop tracking";
    this.button.classList.add("btn-stop");
    this.watch = navigator.geolocation.watchPosition(
      function (pos) { self.fix(pos); },
      function (err) { self.locationProblem(err); },
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 }
    );
    this.timer = setInterval(function () { self.flush(); }, BATCH_EVERY_MS);
    this.lockScreen();
    this.refreshStatus();
    this.connect();
  };

  Tracker.prototype.stop = function (why) {
    this.running = false;
    this.meta.running = false;
    this.store.putMeta(this.meta);
    this.button.textContent = "Start tracking";
    this.button.classList.remove("btn-stop");
    if (this.watch != null) { navigator.geolocation.clearWatch(this.watch); this.watch = null; }
    clearInterval(this.timer);
    if (this.lock) { this.lock.release().catch(function () {}); this.lock = null; }
    this.showLocation("");  // no longer asked for
    this.flush();
    this.refreshStatus();
    this.log(why);
  };

  // The screen stays on while tracking (where the browser can): a sleeping phone's page
  // stops getting fixes. A lock is lost when the page is hidden: asked again on return.
  Tracker.prototype.lockScreen = function () {
    var self = this;
    if (!this.running || this.lock || !navigator.wakeLock || document.visibilityState !== "visible") { return; }
    navigator.wakeLock.request("screen").then(function (lock) {
      self.lock = lock;
      lock.addEventListener("release", function () { if (self.lock === lock) { self.lock = null; } });
    }).catch(function () { /* not allowed now (battery saver): tracking goes on */ });
  };

  // What the phone's location error means for the athlete, by its code (browsers' messages
  // are often empty or technical); the next good fix clears it.
  var LOCATION_PROBLEMS = {
    1: "Location is blocked for this site: allow it in the browser's settings to track.",
    2: "No GPS position for now (indoors, or no signal): tracking goes on and sends once there is one.",
    3: "Still waiting for a GPS position: keep the phone under the open sky."
  };
  // It has a line of its own: the connection's news ("No connection… Retrying") and the
  // GPS's trouble are both true at once in a valley, and neither may hide the other.
  Tracker.prototype.locationProblem = function (err) {
    this.showLocation(LOCATION_PROBLEMS[err && err.code] || "Location: " + ((err && err.message) || "not available"));
  };
  Tracker.prototype.showLocation = function (text) {
    var line = this.q(".t-location");
    line.textContent = text;
    line.hidden = !text;
  };
  Tracker.prototype.fix = function (pos) {
    this.showLocation("");
    var c = pos.coords, p = { t: pos.timestamp / 1000, lat: c.latitude, lon: c.longitude };
    var last = this.meta.lastFix;
    // A restarted watch first hands back the fix it last had: the same one, not a new one.
    if (last && last.t === p.t && last.lat === p.lat && last.lon === p.lon) { return; }
    if (c.altitude != null) { p.alt = Math.round(c.altitude * 10) / 10; }
    if (c.accuracy != null) { p.acc = Math.round(c.accuracy); }
    if (c.speed != null && !isNaN(c.speed) && c.speed >= 0) { p.spd = Math.round(c.speed * 100) / 100; }
    this.q(".t-gps").textContent = c.accuracy != null ? "GPS ±" + Math.round(c.accuracy) + " m" : "GPS";
    var self = this;
    this.store.addPoint(this.meta, p).then(function () { return self.show(); }).catch(function (e) { self.log("Could not keep a position: " + e.message); });
  };

  Tracker.prototype.flush = function () {
    var self = this;
    if (!this.synced) { return this.show(); }
    var ws = this.ws;
    return this.store.cut(this.meta).then(function () { return self.sendBatches(ws); }).then(function () { return self.show(); });
  };

  Tracker.prototype.sendBatches = function (ws) {
    var self = this;
    if (!ws || ws !== this.ws || !this.synced || ws.readyState !== WebSocket.OPEN) { return Promise.resolve(); }
    return this.store.batches(this.token).then(function (batches) {
      batches.sort(function (a, b) { return a.seq - b.seq; });
      batches.forEach(function (b) {
        if (self.sentOn[b.seq] === ws || ws.readyState !== WebSocket.OPEN) { return; }
        ws.send(JSON.stringify({ type: "pos", seq: b.seq, points: b.points }));
        self.sentOn[b.seq] = ws;
      });
    });
  };

  Tracker.prototype.connect = function () {
    var self = this;
    if (!this.active || !this.open || (this.ws && this.ws.readyState <= WebSocket.OPEN)) { return; }
    clearTimeout(this.retry);
    if (navigator.onLine === false) { // the "online" event brings us back (or this, if it never comes)
      this.refreshStatus();
      this.retry = setTimeout(function () { self.connect(); }, 15000);
      return;
    }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/track/");
    this.ws = ws;
    this.synced = false;
    if (this.running) { this.status("connecting", "Connecting…"); }
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: self.token, device: self.device, messages_since: self.meta.lastMessageId || 0 }));
    };
    ws.onmessage = function (ev) {
      if (ws !== self.ws) { return; }
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      self.frame(f, ws);
    };
    ws.onclose = function (ev) {
      if (self.ws !== ws) { return; }
      self.ws = null;
      self.synced = false;
      self.refreshStatus();
      if (ev.code === 4401) { self.stopAll("This token is not valid any more: reload the page."); return; }
      if (ev.code === 4403) { self.stopAll("Tracking for this race has closed."); return; }
      self.reconnectLater(ev);
    };
  };

  Tracker.prototype.stopAll = function (why) {
    this.open = false;
    if (this.running) { this.stop(why); } else { this.log(why); }
    this.status("idle", why);
  };

  // PaceCommon.reconnectDelay's rule (the live page's): the server's retry=S (a 1013 close,
  // or a rate_limited frame's retry_after), else backoff from 1 s to 60 s, with jitter.
  // Every failed socket counts as an attempt, hinted or not.
  Tracker.prototype.reconnectLater = function (ev) {
    var self = this;
    var hint = this.hint;
    this.hint = null;
    this.attempt += 1;
    var delay = window.PaceCommon.reconnectDelay(this.attempt, ev, hint);
    this.lastRetry = { hint: window.PaceCommon.retryHint(ev) != null ? window.PaceCommon.retryHint(ev) : hint, delay: delay };
    if (this.running) { this.log("No connection: positions are kept on the phone. Retrying in " + Math.ceil(delay) + " s."); }
    clearTimeout(this.retry);
    this.retry = setTimeout(function () { self.connect(); }, delay * 1000);
  };

  Tracker.prototype.online = function () {
    var self = this;
    if (!this.open || this.ws) { return; }
    clearTimeout(this.retry);
    this.retry = setTimeout(function () { self.connect(); }, Math.random() * 1000);
  };

  Tracker.prototype.offline = function () {
    // The socket would only notice after a long timeout: close it now and keep fixes.
    if (this.ws) { var ws = this.ws; this.ws = null; this.synced = false; try { ws.close(); } catch (e) { /* closed */ } }
    this.refreshStatus();
  };

  Tracker.prototype.frame = function (f, ws) {
    var self = this;
    if (f.type === "welcome") {
      var last = f.last_seq || 0;
      this.meta.nextSeq = Math.max(this.meta.nextSeq || 1, last + 1);
      this.attempt = 0;
      this.log("Connected as " + f.athlete.name + " (bib " + (f.athlete.bib || "–") + ") in " + f.race.name + ".");
      this.store.drop(this.meta, -Infinity, last).then(function () {
        if (ws !== self.ws) { return; }
        self.synced = true;
        self.sentOn = {};
        if (self.meta.sos && !self.meta.sos.received) { self.sendSos(self.meta.sos); }
        return self.flush();
      }).catch(function (e) { self.log("Could not read the positions kept on the phone: " + e.message); });
    } else if (f.type === "ack") {
      this.store.drop(this.meta, f.seq, f.seq).then(function () { return self.show(); }).catch(function () { /* kept: resent */ });
    } else if (f.type === "state") {
      this.meta.state = f;
      this.store.putMeta(this.meta);
      this.showState(f);
    } else if (f.type === "kudos") {
      this.meta.kudos = f.count;
      this.store.putMeta(this.meta);
      var k = this.q(".t-kudos");
      k.textContent = f.count;
      k.classList.remove("pop"); void k.offsetWidth; k.classList.add("pop");
      this.log("Kudos from " + f.from + "!");
    } else if (f.type === "message") {
      var m = { id: f.id != null ? f.id : "t" + f.t, from: f.from, text: f.text, t: f.t, to: f.to };
      if (typeof f.id === "number") { this.meta.lastMessageId = Math.max(this.meta.lastMessageId || 0, f.id); this.store.putMeta(this.meta); }
      this.store.addMessage(this.token, m);
      this.showMessage(m, true);
    } else if (f.type === "sos_received") {
      this.meta.sos = { received: f.t };
      this.store.putMeta(this.meta);
      this.sosStatus("Race control has your SOS (" + clock(f.t) + "). Stay where you are if you can; they will contact you.");
    } else if (f.type === "error") {
      if (f.code === "rate_limited" && f.limit === "ws.connect.ip") { this.hint = f.retry_after; }
      if (f.code === "bad_post" || (f.code === "rate_limited" && f.limit === "post.athlete")) {
        this.q(".t-post-note").textContent = f.detail;
      } else if (f.code === "bad_sos") {
        this.sosStatus(f.detail);
      } else {
        this.log(f.detail || f.code);
      }
    }
  };

  Tracker.prototype.showState = function (f) {
    if (f.distance != null) { this.q(".t-distance").textContent = (f.distance / 1000).toFixed(2) + " km"; }
    this.q(".t-rank").textContent = f.rank ? "#" + f.rank : "–";
    this.q(".t-gap").textContent = f.rank === 1 ? "Leader" : (f.gap != null ? "+" + duration(f.gap) : "–");
    this.q(".t-eta").textContent = f.status === "finished" ? "Finished" : (f.eta ? clock(f.eta) : "–");
    this.q(".t-pace").textContent = f.pace ? duration(f.pace) + " /km" : "–";
  };

  Tracker.prototype.showMessage = function (m, fresh) {
    var box = this.q(".t-messages"), list = this.q(".t-message-list");
    if (list.querySelector('[data-id="' + String(m.id).replace(/"/g, "") + '"]')) { return; }
    var li = document.createElement("li");
    li.dataset.id = m.id;
    if (fresh) { li.className = "fresh"; }
    var head = document.createElement("span");
    head.className = "t-message-head";
    head.textContent = (m.from || "Race control") + " · " + clock(m.t) + (m.to === "you" ? " · to you" : "");
    var text = document.createElement("p");
    text.textContent = m.text;
    li.appendChild(head);
    li.appendChild(text);
    list.insertBefore(li, list.firstChild);
    while (list.children.length > SHOW_MESSAGES) { list.removeChild(list.lastChild); }
    box.hidden = false;
    if (fresh && navigator.vibrate) { try { navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed */ } }
  };

  // --- posting to spectators ----------------------------------------------------------
  Tracker.prototype.bindPost = function () {
    var self = this, form = this.q(".t-post"), box = form.querySelector("textarea");
    var count = form.querySelector(".t-count"), note = form.querySelector(".t-post-note");
    box.addEventListener("input", function () { count.textContent = box.value.length; });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = box.value.trim();
      if (!text) { return; }
      if (!self.ws || !self.synced) { note.textContent = "No connection: not posted. Try again when you have signal."; return; }
      self.ws.send(JSON.stringify({ type: "post", text: text }));
      box.value = "";
      count.textContent = "0";
      note.textContent = "Posted: spectators see it on the live page.";
    });
  };

  // --- SOS -----------------------------------------------------------------------------
  Tracker.prototype.bindSos = function () {
    var self = this, confirmBox = this.q(".t-sos-confirm");
    this.q(".btn-sos").addEventListener("click", function () {
      confirmBox.hidden = false;
      self.q(".sos-cancel").focus();
    });
    this.q(".sos-cancel").addEventListener("click", function () {
      confirmBox.hidden = true;
      self.q(".btn-sos").focus();
    });
    confirmBox.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { self.q(".sos-cancel").click(); }
    });
    this.q(".sos-send").addEventListener("click", function () {
      confirmBox.hidden = true;
      var fix = self.meta.lastFix || {};
      // Its own id: resent after a reconnect (until sos_received), it stays one call.
      var sos = { text: self.q(".t-sos-text").value.trim().slice(0, 280), lat: fix.lat, lon: fix.lon, pressed: Date.now() / 1000, client_id: randomId() };
      self.meta.sos = sos;
      self.store.putMeta(self.meta);
      if (!self.open) { self.sosStatus("Tracking is not open for this race: call 112 or the race's emergency number."); return; }
      if (!self.active) { self.sosStatus("This entry is open in another tab or window: send the SOS from there, or call 112."); return; }
      self.sendSos(sos);
    });
  };

  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  Tracker.prototype.sendSos = function (sos) {
    var frame = { type: "sos", text: sos.text || "" };
    if (sos.client_id) { frame.client_id = sos.client_id; }
    if (sos.lat != null && sos.lon != null) { frame.lat = sos.lat; frame.lon = sos.lon; }
    if (this.ws && this.synced && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      this.sosStatus("Sending your SOS to race control…");
    } else {
      this.sosStatus("No signal: your SOS is sent as soon as there is one. Call 112 if you can.");
      this.connect();
    }
  };

  Tracker.prototype.sosStatus = function (text) { this.q(".t-sos-status").textContent = text; };

  // --- tracker app setup ------------------------------------------------------------------
  Tracker.prototype.bindApp = function () {
    var self = this, details = this.q("details.app"), line = this.q(".t-first-fix");
    this.card.querySelectorAll("button.copy").forEach(function (b) {
      b.addEventListener("click", function () {
        if (!navigator.clipboard) { return; }
        navigator.clipboard.writeText(b.dataset.copy).then(function () {
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = "Copy"; }, 1500);
        }).catch(function () {});
      });
    });
    if (!line || !details) { return; }
    var url = this.card.dataset.deviceUrl + "?token=" + encodeURIComponent(this.token);
    function render(st) {
      if (st.first) {
        line.dataset.first = st.first;
        line.className = "t-first-fix arrived";
        line.textContent = "First position from your app arrived at " + clock(st.first) + " · latest " + clock(st.last) + " · " + st.fixes + " in all.";
      }
    }
    function poll() {
      if (!details.open || document.visibilityState !== "visible" || navigator.onLine === false) { return; }
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (st) { if (st) { render(st); } }).catch(function () {});
    }
    if (line.dataset.first) {
      render({ first: parseFloat(line.dataset.first), last: parseFloat(line.dataset.last), fixes: "" });
      line.textContent = "First position from your app arrived at " + clock(parseFloat(line.dataset.first)) + " · latest " + clock(parseFloat(line.dataset.last)) + ".";
    }
    poll();
    setInterval(poll, 5000);
    details.addEventListener("toggle", poll);
  };

  // --- the page ------------------------------------------------------------------------
  function installId(store) {
    return store.meta("_install").then(function (m) {
      if (m.id) { return m.id; }
      var bytes = new Uint8Array(6);
      (window.crypto || {}).getRandomValues ? crypto.getRandomValues(bytes) : bytes.forEach(function (_, i) { bytes[i] = Math.random() * 256; });
      m.id = Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
      return store.putMeta(m).then(function () { return m.id; });
    });
  }

  function serviceWorker() {
    var root = document.querySelector(".track[data-sw]");
    if (!root || !("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register(root.dataset.sw, { scope: root.dataset.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      // This page loaded before the worker controlled it: ask it to keep a copy.
      if (reg.active && !document.querySelector(".errorlist")) { reg.active.postMessage({ type: "keep", url: location.href }); }
    }).catch(function () { /* no offline copy: the page still works online */ });
  }

  function installButton() {
    var note = document.querySelector(".t-install"), prompt = null;
    if (!note) { return; }
    window.addEventListener("beforeinstallprompt", function (ev) {
      ev.preventDefault();
      prompt = ev;
      note.hidden = false;
    });
    note.querySelector("button").addEventListener("click", function () {
      if (!prompt) { return; }
      prompt.prompt();
      prompt = null;
      note.hidden = true;
    });
  }

  var cards = document.querySelectorAll(".track-card[data-token]");
  var offlineNote = document.querySelector(".t-offline-note");
  function offlineShown() { if (offlineNote) { offlineNote.hidden = navigator.onLine !== false; } }
  serviceWorker();
  installButton();
  offlineShown();
  if (!cards.length) { return; }
  openDb().then(function (db) { return new Store(db); }, function () { return new Store(null); }).then(function (store) {
    return installId(store).then(function (id) {
      var trackers = Array.prototype.map.call(cards, function (card) { return new Tracker(card, store, id); });
      window.paceTrackers = trackers; // for the curious (and the browser tests)
      window.addEventListener("online", function () { offlineShown(); trackers.forEach(function (t) { t.online(); }); });
      window.addEventListener("offline", function () { offlineShown(); trackers.forEach(function (t) { t.offline(); }); });
      document.addEventListener("visibilitychange", function () {
        trackers.forEach(function (t) { t.lockScreen(); if (document.visibilityState === "visible") { t.online(); } });
      });
      return Promise.all(trackers.map(function (t) { return t.load(); }));
    });
  });
})();
