// Spectator page: a race live from /ws/live/RACE_ID/ (PROTOCOL.md §3) on a Leaflet map,
// with a leaderboard, followed athletes (kudos) and the athletes' posts.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("live-config").textContent);
  var STATUS = {
    not_started: "Not started", racing: "Racing", stopped: "Stopped", finished: "Finished",
    dnf: "DNF", lost_signal: "No signal"
  };
  var RANKED = { racing: 0, stopped: 0, lost_signal: 0, finished: 0, not_started: 1, dnf: 2 };
  var BOARD_ROWS = 200;
  var followKey = "pace-follow-" + cfg.id;

  var athletes = new Map();
  cfg.roster.forEach(function (r) {
    athletes.set(r[0], { id: r[0], bib: r[1], name: r[2], lat: null, lon: null, distance: 0,
      status: "not_started", state: null, kudos: null });
  });
  var follows = loadFollows();
  var seq = 0;
  var clockOffset = 0; // server time minus this device's time, in seconds
  var ws = null;
  var attempt = 0;
  var retryTimer = null;
  var followTimer = null;
  var renderQueued = false;
  var search = "";

  // --- helpers ---------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  // Names, bibs, split names and posts are typed by athletes and organizers: they reach
  // the page only as text (textContent, text nodes), never through HTML.
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text != null) { node.textContent = String(text); }
    return node;
  }
  function append(parent, children) {
    children.forEach(function (child) {
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return parent;
  }
  function label(a) { return (a.bib ? "#" + a.bib + " " : "") + (a.name == null ? "" : a.name); }
  function badge(status) { return el("span", "st st-" + status, STATUS[status] || status); }
  function now() { return Date.now() / 1000 + clockOffset; }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function duration(s) {
    if (s == null || !isFinite(s)) { return "–"; }
    s = Math.max(0, Math.round(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? h + ":" + two(m) + ":" + two(sec) : m + ":" + two(sec);
  }
  function pace(secPerKm) {
    if (!secPerKm || !isFinite(secPerKm) || secPerKm > 3600) { return "–"; }
    var s = Math.round(secPerKm);
    return Math.floor(s / 60) + ":" + two(s % 60);
  }
  // Times of day in the venue's time zone, as the start time on the page.
  var hhmm;
  try {
    hhmm = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: cfg.timezone });
  } catch (e) {
    hhmm = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false });
  }
  function clockTime(epoch) { return epoch ? hhmm.format(new Date(epoch * 1000)) : "–"; }
  function km(m) { return (m / 1000).toFixed(2); }
  function loadFollows() {
    try {
      var ids = JSON.parse(localStorage.getItem(followKey) || "[]");
      return ids.filter(function (id) { return athletes.has(id); }).slice(0, 50);
    } catch (e) { return []; }
  }
  function saveFollows() {
    try { localStorage.setItem(followKey, JSON.stringify(follows)); } catch (e) { /* private mode */ }
  }
  function toast(text) {
    var el = $("toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 3000);
  }
  function athlete(id) {
    var a = athletes.get(id);
    if (!a) { // joined after the page was rendered
      a = { id: id, bib: "", name: "Athlete " + id, lat: null, lon: null, distance: 0,
        status: "not_started", state: null, kudos: null };
      athletes.set(id, a);
    }
    return a;
  }

  // --- map ---------------------------------------------------------------------------
  var map = L.map("live-map", { zoomControl: true, preferCanvas: cfg.roster.length > 1500 });
  if (cfg.tiles.url) {
    L.tileLayer(cfg.tiles.url, { maxZoom: 19, attribution: cfg.tiles.attribution }).addTo(map);
  }
  map.setView([0, 0], 2);
  var fitted = false;
  var markers = new Map();

  if (cfg.course_url) {
    fetch(cfg.course_url, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error("course " + r.status); } return r.json(); })
      .then(drawCourse)
      .catch(function () { toast("The course could not be loaded."); });
  }

  function drawCourse(feature) {
    var latlngs = feature.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
    L.polyline(latlngs, { color: "#1d3557", weight: 7, opacity: 0.25, className: "course-casing", interactive: false }).addTo(map);
    var line = L.polyline(latlngs, { color: "#e4572e", weight: 3.5, className: "course-line", interactive: false }).addTo(map);
    (feature.properties.split_points || []).forEach(function (sp) {
      L.circleMarker([sp.lat, sp.lon], { radius: 4, color: "#1d3557", weight: 2, fillColor: "#fff", fillOpacity: 1, className: "split-marker" })
        .bindTooltip(el("span", null, sp.name + " · " + (sp.distance / 1000).toFixed(1) + " km"))
        .addTo(map);
    });
    map.fitBounds(line.getBounds(), { padding: [24, 24] });
    fitted = true;
  }

  function markerStyle(a, rank) {
    var followed = follows.indexOf(a.id) >= 0;
    var color = { finished: "#2a9d8f", stopped: "#f4a261", lost_signal: "#8d99ae", dnf: "#8d99ae" }[a.status] || "#e4572e";
    if (rank === 1 && a.status !== "finished") { color = "#f2b705"; }
    return {
      radius: followed ? 9 : 6, color: followed ? "#14213d" : "#fff", weight: followed ? 3 : 1.5,
      fillColor: color, fillOpacity: 0.95
    };
  }

  function placeMarker(a, rank) {
    if (a.lat == null || a.lon == null) { return; }
    var m = markers.get(a.id);
    if (!m) {
      m = L.circleMarker([a.lat, a.lon], Object.assign({ className: "athlete-marker" }, markerStyle(a, rank)));
      m.on("click", function () { toggleFollow(a.id); });
      m.label = el("span", null, "");
      m.bindTooltip(m.label, { direction: "top", offset: [0, -6] });
      m.addTo(map);
      markers.set(a.id, m);
    } else {
      m.setLatLng([a.lat, a.lon]);
      m.setStyle(markerStyle(a, rank));
    }
    var followed = follows.indexOf(a.id) >= 0;
    var text = label(a);
    if (m.label.textContent !== text) {
      m.label.textContent = text;
      if (m.isTooltipOpen()) { m.getTooltip().update(); }
    }
    if (followed && !m.isTooltipOpen()) { m.openTooltip(); }
    if (followed) { m.bringToFront(); }
  }

  // --- frames ------------------------------------------------------------------------
  function applyCompact(e) {
    var a = athlete(e[0]);
    a.lat = e[1]; a.lon = e[2]; a.distance = e[3]; a.status = e[4];
  }
  function applyState(s) {
    var a = athlete(s.id);
    a.state = s;
    if (s.bib) { a.bib = s.bib; }
    if (s.name) { a.name = s.name; }
    a.lat = s.lat; a.lon = s.lon; a.distance = s.distance; a.status = s.status;
  }
  function resync() {
    // A lost tick: ask for a fresh snapshot (the server answers a follow with one).
    if (ws && ws.readyState === WebSocket.OPEN) { sendFollow(); }
  }
  function sendFollow() {
    ws.send(JSON.stringify({ type: "follow", athletes: follows }));
  }

  var handlers = {
    snapshot: function (f) {
      seq = f.seq;
      if (f.t) { clockOffset = f.t - Date.now() / 1000; }
      athletes.forEach(function (a) { a.state = null; });
      f.field.forEach(applyCompact);
      f.athletes.forEach(applyState);
      renderFeed(f.posts || []);
      attempt = 0;
      setStatus("live", "Live");
      queueRender();
    },
    tick: function (f) {
      if (f.seq <= seq) { return; }
      if (seq && f.seq > seq + 1) { resync(); return; }
      seq = f.seq;
      clockOffset = f.t - Date.now() / 1000;
      f.athletes.forEach(applyState);
      queueRender();
    },
    field: function (f) { f.field.forEach(applyCompact); queueRender(); },
    kudos: function (f) { athlete(f.athlete).kudos = f.count; queueRender(); },
    post: function (f) { addPost(f, true); },
    result: function (f) {
      var a = athlete(f.athlete);
      var text = f.point === "Finish" ? "finished in " : "passed " + f.point + " in ";
      addFeed("result", a, text + duration(f.time - cfg.start) + (f.rank ? " (" + ordinal(f.rank) + ")" : ""), f.time);
    },
    error: function (f) {
      if (f.code === "rate_limited" && f.limit === "follow") {
        // Following fast: send the latest list again once the server takes it.
        clearTimeout(followTimer);
        followTimer = setTimeout(resync, (f.retry_after || 1) * 1000);
      } else if (f.code === "rate_limited" && /^kudos/.test(f.limit || "kudos")) {
        toast("Easy! Kudos are limited to a few at a time.");
      } else if (f.code === "too_many") { toast("You can follow at most 50 athletes."); }
    }
  };

  function ordinal(n) {
    var s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }

  // --- connection ----------------------------------------------------------------------
  function setStatus(state, text) {
    var el = $("live-status");
    el.dataset.state = state;
    el.textContent = text;
  }

  function connect() {
    clearTimeout(retryTimer);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + cfg.ws);
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    ws.onopen = function () { if (follows.length) { sendFollow(); } };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      var handler = handlers[f.type];
      if (handler) { handler(f); }
    };
    ws.onclose = function (ev) {
      ws = null;
      if (ev.code === 4404) { setStatus("off", "Not available"); return; }
      attempt += 1;
      var delay = Math.min(30, Math.pow(2, attempt - 1)) * (0.5 + Math.random() / 2);
      // 1013 "retry=S": the server asks for S seconds (PROTOCOL.md), plus some jitter.
      var asked = ev.code === 1013 && /^retry=(\d+)$/.exec(ev.reason || "");
      if (asked) { delay = Number(asked[1]) * (1 + Math.random() / 4); }
      setStatus("off", "Offline · retrying in " + Math.ceil(delay) + " s");
      retryTimer = setTimeout(connect, delay * 1000);
    };
  }
  // Back on a network (or back to a tab the phone had frozen): do not wait out the backoff.
  window.addEventListener("online", function () { if (!ws) { attempt = 0; connect(); } });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !ws) { connect(); }
  });

  // --- following and kudos -------------------------------------------------------------
  function toggleFollow(id) {
    var i = follows.indexOf(id);
    if (i >= 0) { follows.splice(i, 1); }
    else if (follows.length >= 50) { toast("You can follow at most 50 athletes."); return; }
    else { follows.push(id); }
    saveFollows();
    var m = markers.get(id);
    if (m && i >= 0) { m.closeTooltip(); }
    if (ws && ws.readyState === WebSocket.OPEN) { sendFollow(); }
    queueRender();
  }
  function kudos(id) {
    if (!ws || ws.readyState !== WebSocket.OPEN) { toast("Offline: kudos will work again once reconnected."); return; }
    ws.send(JSON.stringify({ type: "kudos", athlete: id }));
    var btn = document.querySelector('.kudos[data-id="' + id + '"]');
    if (btn) { btn.classList.remove("pop"); void btn.offsetWidth; btn.classList.add("pop"); }
  }

  // --- rendering -------------------------------------------------------------------------
  function queueRender() {
    if (renderQueued) { return; }
    renderQueued = true;
    requestAnimationFrame(function () { renderQueued = false; render(); });
  }

  function ranked() {
    var list = Array.from(athletes.values());
    list.sort(function (a, b) {
      var ga = RANKED[a.status] === undefined ? 1 : RANKED[a.status];
      var gb = RANKED[b.status] === undefined ? 1 : RANKED[b.status];
      if (ga !== gb) { return ga - gb; }
      var fa = a.status === "finished" ? 0 : 1, fb = b.status === "finished" ? 0 : 1;
      if (fa !== fb) { return fa - fb; }
      var ra = a.state && a.state.rank, rb = b.state && b.state.rank;
      if (fa === 0 && ra && rb) { return ra - rb; }
      if (b.distance !== a.distance) { return b.distance - a.distance; }
      if (ra && rb) { return ra - rb; }
      return a.id - b.id;
    });
    return list;
  }

  function avgPace(a) {
    var elapsed = now() - cfg.start;
    return a.distance > 100 && elapsed > 0 ? elapsed / (a.distance / 1000) : null;
  }

  function boardRow(a, rank) {
    var s = a.state || {};
    var followed = follows.indexOf(a.id) >= 0;
    var p = s.pace ? pace(s.pace) : (a.status === "racing" ? pace(avgPace(a)) : "–");
    var gap = rank === 1 ? "Leader" : (s.gap != null ? "+" + duration(s.gap) : "–");
    var eta = a.status === "finished" && s.finish_time != null ? duration(s.finish_time) : clockTime(s.eta);
    var star = el("span", "star", followed ? "★" : "☆");
    star.setAttribute("aria-hidden", "true");
    var who = append(el("td", "who"), [star, a.name == null ? "" : String(a.name)]);
    if (a.status !== "racing") { append(who, [" ", badge(a.status)]); }
    var tr = append(el("tr", (followed ? "followed " : "") + "row-" + a.status), [
      el("td", "num rank", rank || "–"),
      el("td", "bib", a.bib),
      who,
      el("td", "num", a.lat == null && !a.distance ? "–" : km(a.distance)),
      el("td", "num hide-s" + (s.pace ? "" : " est"), p),
      el("td", "num", gap),
      el("td", "hide-s", eta)
    ]);
    tr.dataset.id = a.id;
    return tr;
  }

  function renderBoard(list) {
    var rows = [];
    var q = search.toLowerCase();
    list.forEach(function (a, i) {
      var rank = RANKED[a.status] === 0 ? i + 1 : null;
      if (q && (a.bib + " " + a.name).toLowerCase().indexOf(q) < 0) { return; }
      if (rows.length < BOARD_ROWS || follows.indexOf(a.id) >= 0) { rows.push(boardRow(a, rank)); }
    });
    if (!rows.length) {
      var empty = el("td", null, q ? "Nobody matches." : "Waiting for the race…");
      empty.colSpan = 7;
      rows.push(append(el("tr", "board-empty"), [empty]));
    }
    var body = $("board-body");
    body.textContent = "";
    body.appendChild(append(document.createDocumentFragment(), rows));
  }

  function renderFollows(ranks) {
    var box = $("live-follow");
    box.hidden = follows.length === 0;
    var list = $("follow-list");
    list.textContent = "";
    list.appendChild(append(document.createDocumentFragment(), follows.map(function (id) {
      var a = athlete(id), s = a.state || {};
      var facts = [km(a.distance) + " km"];
      if (ranks.get(id)) { facts.push(ordinal(ranks.get(id))); }
      if (s.pace) { facts.push(pace(s.pace) + "/km"); }
      if (s.hr) { facts.push(s.hr + " bpm"); }
      if (a.status === "finished" && s.finish_time != null) { facts.push("finished " + duration(s.finish_time)); }
      else if (s.eta) { facts.push("ETA " + clockTime(s.eta)); }
      var unfollow = el("button", "unfollow", "×");
      unfollow.dataset.id = id;
      unfollow.title = "Stop following";
      var cheer = el("button", "kudos", "Kudos");
      cheer.dataset.id = id;
      if (a.kudos) { append(cheer, [" ", el("span", "kc", a.kudos)]); }
      return append(el("li"), [
        unfollow,
        append(el("div", "fw-who"), [el("strong", null, label(a)), badge(a.status)]),
        el("div", "fw-facts", facts.join(" · ")),
        cheer
      ]);
    })));
  }

  function render() {
    var list = ranked();
    var ranks = new Map();
    var racing = 0, finished = 0;
    list.forEach(function (a, i) {
      var rank = RANKED[a.status] === 0 ? i + 1 : null;
      if (rank) { ranks.set(a.id, rank); }
      if (a.status === "finished") { finished += 1; } else if (rank) { racing += 1; }
      placeMarker(a, rank);
    });
    if (!fitted && markers.size) {
      map.fitBounds(L.featureGroup(Array.from(markers.values())).getBounds(), { padding: [24, 24], maxZoom: 15 });
      fitted = true;
    }
    $("live-count").textContent = racing;
    $("live-finished").textContent = finished;
    renderBoard(list);
    renderFollows(ranks);
  }

  // --- posts and results ----------------------------------------------------------------
  function addFeed(kind, a, text, t) {
    var feed = $("feed");
    var empty = feed.querySelector(".feed-empty");
    if (empty) { empty.remove(); }
    var li = append(el("li", "feed-" + kind), [
      append(el("div", "feed-meta"), [el("strong", null, label(a)), el("time", null, clockTime(t))]),
      el("p", null, text)
    ]);
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 100) { feed.removeChild(feed.lastChild); }
    if (kind === "post") {
      var count = $("feed-count");
      count.hidden = false;
      count.textContent = feed.querySelectorAll(".feed-post").length;
    }
  }
  function addPost(p) {
    var a = athlete(p.athlete);
    if (p.name) { a.name = a.name || p.name; }
    addFeed("post", a, p.text, p.t);
  }
  function renderFeed(posts) {
    $("feed").textContent = "";
    posts.slice().reverse().forEach(addPost); // newest first on screen
    if (!posts.length) {
      $("feed").appendChild(el("li", "feed-empty muted", "No posts yet. Athletes' messages from the course appear here."));
      $("feed-count").hidden = true;
    }
  }

  // --- page events ------------------------------------------------------------------------
  $("board-body").addEventListener("click", function (ev) {
    var row = ev.target.closest("tr[data-id]");
    if (row) { toggleFollow(Number(row.dataset.id)); }
  });
  $("follow-list").addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-id]");
    if (!btn) { return; }
    var id = Number(btn.dataset.id);
    if (btn.classList.contains("kudos")) { kudos(id); }
    else { toggleFollow(id); }
  });
  $("board-search").addEventListener("input", function (ev) { search = ev.target.value.trim(); queueRender(); });
  document.querySelectorAll(".live-tabs button").forEach(function (btn) {
    btn.addEventListener("click", function () {
      document.querySelectorAll(".live-tabs button").forEach(function (b) {
        b.setAttribute("aria-selected", b === btn ? "true" : "false");
      });
      $("panel-board").hidden = btn.dataset.tab !== "board";
      $("panel-feed").hidden = btn.dataset.tab !== "feed";
    });
  });
  setInterval(function () {
    var elapsed = now() - cfg.start;
    $("live-clock").textContent = elapsed < 0 ? "starts in " + duration(-elapsed) : duration(elapsed);
  }, 1000);

  connect();
})();
