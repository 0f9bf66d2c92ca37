// Embed widget (/embed/EVENT/RACE/): a race live in an organizer's iframe, from the same
// public socket as the live page (/ws/live/RACE_ID/, PROTOCOL.md §3). The map shows the
// field; below it the leaders (or, with ?athlete=BIB, that one athlete, followed).
(function () {
  "use strict";
  var C = window.PaceCommon, el = C.el, two = C.two;
  var cfg = JSON.parse(document.getElementById("embed-config").textContent);
  var STATUS = {
    not_started: "Not started", racing: "Racing", stopped: "Stopped", finished: "Finished",
    dnf: "DNF", lost_signal: "No signal"
  };
  var states = new Map(); // full state objects (leaders, the followed athlete)
  var field = new Map(); // id -> [id, lat, lon, distance, status]
  var markers = new Map();
  var ws = null, attempt = 0, seq = 0, queued = false, centred = false;

  function $(id) { return document.getElementById(id); }
  var duration = C.duration; // common.js: the live page's rounding rule
  function pace(s) {
    if (!s || !isFinite(s) || s > 3600) { return "–"; }
    s = Math.round(s);
    return Math.floor(s / 60) + ":" + two(s % 60) + " /km";
  }
  function setStatus(state, text) {
    // As the live page: past its tracking window the race is over, whatever still comes.
    if (cfg.closes != null && Date.now() / 1000 > cfg.closes) { state = "over"; text = "Race over"; }
    var badge = $("embed-status");
    badge.dataset.state = state;
    badge.textContent = text;
  }

  var map = C.baseMap("embed-map", { zoomControl: false, attributionControl: !!cfg.tiles.url, keyboard: false }, cfg.tiles);
  if (cfg.course_url) {
    C.fetchCourse(cfg.course_url)
      .then(function (feature) {
        var latlngs = C.courseLatLngs(feature);
        var line = L.polyline(latlngs, { color: "#e4572e", weight: 3, className: "course-line", interactive: false }).addTo(map);
        if (!centred) { map.fitBounds(line.getBounds(), { padding: [12, 12] }); }
      })
      .catch(function () { /* the athletes still show */ });
  }

  function place(id, lat, lon, status) {
    if (lat == null || lon == null) { return; }
    var one = cfg.athlete === id;
    if (cfg.athlete && !one && markers.size > 400) { return; }
    var color = one ? "#1d3557" : status === "finished" ? "#2a9d8f" : "#e4572e";
    var style = { radius: one ? 8 : 4, color: "#fff", weight: one ? 2.5 : 1, fillColor: color, fillOpacity: 0.95 };
    var m = markers.get(id);
    if (!m) {
      m = L.circleMarker([lat, lon], Object.assign({ className: "athlete-marker", interactive: false }, style)).addTo(map);
      markers.set(id, m);
    } else {
      m.setLatLng([lat, lon]);
      m.setStyle(style);
    }
    if (one) {
      m.bringToFront();
      if (!centred) { centred = true; map.setView([lat, lon], 15); }
    }
  }

  function render() {
    queued = false;
    field.forEach(function (e) { place(e[0], e[1], e[2], e[4]); });
    states.forEach(function (s) { place(s.id, s.lat, s.lon, s.status); });
    if (cfg.athlete) { renderOne(); } else { renderBoard(); }
  }
  function queue() { if (!queued) { queued = true; requestAnimationFrame(render); } }

  function renderBoard() {
    var leaders = Array.from(states.values()).filter(function (s) { return s.rank; });
    leaders.sort(function (a, b) { return a.rank - b.rank; });
    var body = $("embed-rows");
    var rows = leaders.slice(0, cfg.top).map(function (s) {
      var tr = el("tr");
      tr.setAttribute("data-id", s.id);
      tr.appendChild(el("td", "num rank", s.rank));
      var who = el("td", "who", (s.bib ? "#" + s.bib + " " : "") + (s.name || ""));
      tr.appendChild(who);
      tr.appendChild(el("td", "num", (s.distance / 1000).toFixed(2)));
      tr.appendChild(el("td", "num", s.status === "finished" ? "Fin." : s.gap ? "+" + duration(s.gap) : s.rank === 1 ? "–" : ""));
      return tr;
    });
    if (rows.length) { body.replaceChildren.apply(body, rows); }
  }
  function renderOne() {
    var s = states.get(cfg.athlete);
    if (!s) { return; }
    $("one-status").textContent = STATUS[s.status] || s.status;
    $("one-rank").textContent = s.rank ? String(s.rank) : "–";
    $("one-km").textContent = (s.distance / 1000).toFixed(2);
    $("one-pace").textContent = pace(s.pace);
    $("one-eta").textContent = s.status === "finished" ? "Finished" : s.eta ? duration(s.eta - cfg.start) : "–";
  }

  var handlers = {
    snapshot: function (f) {
      seq = f.seq;
      states.clear();
      (f.field || []).forEach(function (e) { field.set(e[0], e); });
      f.athletes.forEach(function (s) { states.set(s.id, s); });
      attempt = 0;
      setStatus("live", "Live");
      queue();
    },
    tick: function (f) {
      if (f.seq <= seq) { return; }
      if (seq && f.seq > seq + 1 && ws) { follow(); return; } // missed one: a fresh snapshot
      seq = f.seq;
      f.athletes.forEach(function (s) { states.set(s.id, s); });
      queue();
    },
    field: function (f) { f.field.forEach(function (e) { field.set(e[0], e); }); queue(); }
  };
  function follow() {
    ws.send(JSON.stringify({ type: "follow", athletes: cfg.athlete ? [cfg.athlete] : [] }));
  }
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + cfg.ws);
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    ws.onopen = function () { if (cfg.athlete) { follow(); } };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (handlers[f.type]) { handlers[f.type](f); }
    };
    ws.onclose = function (ev) {
      ws = null;
      if (ev.code === 4404) { setStatus("off", "Not available"); return; }
      attempt += 1;
      var delay = C.reconnectDelay(attempt, ev);
      setStatus("off", "Offline");
      setTimeout(connect, delay * 1000);
    };
  }
  connect();
})();
