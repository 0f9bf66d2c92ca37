// Tracker page: this phone as the athlete's tracker over /ws/track/ (PROTOCOL.md §1).
// Fixes are kept in localStorage until acked, so a lost signal or a reload loses nothing.
(function () {
  "use strict";
  var BATCH_EVERY_MS = 5000;
  var MAX_BATCH = 500;

  function Tracker(card) {
    this.card = card;
    this.token = card.dataset.token;
    this.key = "pace-tracker-" + this.token;
    var saved = {};
    try { saved = JSON.parse(localStorage.getItem(this.key) || "{}"); } catch (e) { saved = {}; }
    this.nextSeq = saved.nextSeq || 1;
    this.batches = saved.batches || []; // cut, numbered, not yet acked: resent as they are
    this.pending = saved.pending || []; // not yet in a batch
    this.acked = 0;
    this.ws = null;
    this.synced = false; // a welcome told us the server's last_seq on this page
    this.running = false;
    this.attempt = 0;
    this.button = card.querySelector(".start-tracking");
    this.button.addEventListener("click", this.toggle.bind(this));
    this.show();
  }

  Tracker.prototype.q = function (sel) { return this.card.querySelector(sel); };
  Tracker.prototype.log = function (text) { this.q(".tracker-log").textContent = text; };
  Tracker.prototype.save = function () {
    try {
      localStorage.setItem(this.key, JSON.stringify({
        nextSeq: this.nextSeq,
        batches: this.batches.map(function (b) { return { seq: b.seq, points: b.points }; }),
        pending: this.pending
      }));
    } catch (e) { /* full or private mode: the fixes stay in memory */ }
  };
  Tracker.prototype.show = function () {
    var waiting = this.pending.length;
    this.batches.forEach(function (b) { waiting += b.points.length; });
    this.q(".t-acked").textContent = this.acked;
    this.q(".t-pending").textContent = waiting;
  };

  Tracker.prototype.toggle = function () {
    if (this.running) { this.stop("Tracking stopped."); } else { this.start(); }
  };

  Tracker.prototype.start = function () {
    if (!navigator.geolocation) { this.log("This browser cannot share its location."); return; }
    var self = this;
    this.running = true;
    this.button.textContent = "Stop tracking";
    this.button.classList.add("btn-stop");
    this.watch = navigator.geolocation.watchPosition(
      function (pos) { self.fix(pos); },
      function (err) { self.log("Location: " + err.message); },
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 }
    );
    this.timer = setInterval(function () { self.flush(); }, BATCH_EVERY_MS);
    if (navigator.wakeLock) {
      navigator.wakeLock.request("screen").then(function (lock) { self.lock = lock; }).catch(function () {});
    }
    this.connect();
  };

  Tracker.prototype.stop = function (why) {
    this.running = false;
    this.button.textContent = "Start tracking";
    this.button.classList.remove("btn-stop");
    if (this.watch != null) { navigator.geolocation.clearWatch(this.watch); }
    clearInterval(this.timer);
    clearTimeout(this.retry);
    if (this.lock) { this.lock.release(); this.lock = null; }
    this.flush();
    if (this.ws) { this.ws.close(1000); }
    this.log(why);
  };

  Tracker.prototype.fix = function (pos) {
    var c = pos.coords, p = { t: pos.timestamp / 1000, lat: c.latitude, lon: c.longitude };
    if (c.altitude != null) { p.alt = Math.round(c.altitude * 10) / 10; }
    if (c.accuracy != null) { p.acc = Math.round(c.accuracy); }
    if (c.speed != null && !isNaN(c.speed) && c.speed >= 0) { p.spd = Math.round(c.speed * 100) / 100; }
    this.pending.push(p);
    this.save();
    this.show();
  };

  Tracker.prototype.flush = function () {
    // Batches are numbered only once the server said its last_seq: never reuse a stored seq.
    if (this.synced) {
      while (this.pending.length) {
        this.batches.push({ seq: this.nextSeq++, points: this.pending.splice(0, MAX_BATCH) });
      }
    }
    this.save();
    this.sendAll();
    this.show();
  };

  Tracker.prototype.sendAll = function () {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.synced) { return; }
    var ws = this.ws;
    this.batches.forEach(function (b) {
      if (!b.sentOn || b.sentOn !== ws) {
        ws.send(JSON.stringify({ type: "pos", seq: b.seq, points: b.points }));
        b.sentOn = ws;
      }
    });
  };

  Tracker.prototype.connect = function () {
    var self = this;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/track/");
    this.ws = ws;
    this.synced = false;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: self.token, device: "Pace web tracker / " + navigator.userAgent.slice(0, 120) }));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      self.frame(f);
    };
    ws.onclose = function (ev) {
      if (self.ws === ws) { self.ws = null; }
      self.batches.forEach(function (b) { if (b.sentOn === ws) { b.sentOn = null; } });
      if (!self.running) { return; }
      if (ev.code === 4401 || ev.code === 4403) { self.stop(ev.code === 4401 ? "This token is not valid any more: reload the page." : "Tracking for this race has closed."); return; }
      self.attempt += 1;
      var delay = Math.min(30, Math.pow(2, self.attempt - 1)) * (0.5 + Math.random() / 2);
      self.log("No connection: positions are kept on the phone. Retrying in " + Math.ceil(delay) + " s.");
      self.retry = setTimeout(function () { if (self.running) { self.connect(); } }, delay * 1000);
    };
  };

  Tracker.prototype.frame = function (f) {
    if (f.type === "welcome") {
      var last = f.last_seq || 0;
      this.batches = this.batches.filter(function (b) { return b.seq > last; });
      this.nextSeq = Math.max(this.nextSeq, last + 1);
      this.synced = true;
      this.attempt = 0;
      this.log("Connected as " + f.athlete.name + " (bib " + (f.athlete.bib || "–") + ") in " + f.race.name + ".");
      this.flush();
    } else if (f.type === "ack") {
      var self = this;
      this.batches = this.batches.filter(function (b) {
        if (b.seq === f.seq) { self.acked += b.points.length; return false; }
        return true;
      });
      this.save();
      this.show();
    } else if (f.type === "state") {
      this.q(".t-distance").textContent = (f.distance / 1000).toFixed(2) + " km";
      this.q(".t-rank").textContent = f.rank || "–";
    } else if (f.type === "kudos") {
      this.q(".t-kudos").textContent = f.count;
      this.log("Kudos from " + f.from + "!");
    } else if (f.type === "error") {
      this.log(f.detail || f.code);
    }
  };

  document.querySelectorAll(".track-card[data-token]").forEach(function (card) { new Tracker(card); });
})();
