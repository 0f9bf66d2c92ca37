// Spectator page: a race live from /ws/live/RACE_ID/ (PROTOCOL.md §3 and the additions in
// docs/live-tracking.md) on a Leaflet map, with a leaderboard of every athlete, filters,
// followed athletes pinned, an athlete panel (charts, splits, posts, kudos, share) and posts.
//
// window.PaceLive holds the pieces other pages reuse (the embed, the replay): formatting,
// compact entries, the board's ordering and rows. They take plain athlete objects.
(function () {
  "use strict";
  var C = window.PaceCommon, el = C.el, two = C.two;

  // --- reusable pieces -----------------------------------------------------------------------
  var STATUS = {
    not_started: "Not started", racing: "Racing", stopped: "Stopped", finished: "Finished",
    dnf: "DNF", lost_signal: "No signal", off_course: "Off course"
  };
  var OFF_COURSE = 1; // compact entry's flags
  var COUNTED = ["racing", "off_course", "stopped", "lost_signal", "finished", "dnf", "not_started"];

  // Names, bibs, split names and posts are typed by athletes and organizers: they reach
  // the page only as text (textContent, text nodes, common.js's el), never through HTML.
  function append(parent, children) {
    children.forEach(function (child) {
      if (child == null) { return; }
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return parent;
  }
  var duration = C.duration; // common.js: the one rounding rule of every page
  function pace(secPerKm) {
    if (!secPerKm || !isFinite(secPerKm) || secPerKm > 3600) { return "–"; }
    var s = Math.round(secPerKm);
    return Math.floor(s / 60) + ":" + two(s % 60);
  }
  function km(m) { return (m / 1000).toFixed(2); }
  function ordinal(n) {
    var s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }
  function blank(id, roster) {
    // `named`: the name is the athlete's (roster or a post), not the placeholder.
    return { id: id, bib: roster ? roster[1] : "", name: roster ? roster[2] : "Athlete " + id, named: !!roster,
      cat: roster ? roster[3] || "" : "", sex: roster ? roster[4] || "" : "",
      lat: null, lon: null, distance: 0, status: "not_started", rank: null, pace: null,
      gap: null, finish: null, flags: 0, hr: null, state: null, kudos: null };
  }
  // A compact entry [id, lat, lon, distance, status, rank, pace, gap, finish, flags]: the
  // first five from any server, the rest when it sends them.
  function applyCompact(a, e) {
    a.lat = e[1]; a.lon = e[2]; a.distance = e[3]; a.status = e[4];
    if (e.length > 5) {
      a.rank = e[5]; a.pace = e[6]; a.gap = e[7]; a.finish = e[8]; a.flags = e[9] || 0;
    }
  }
  function applyState(a, s, start) {
    a.state = s;
    if (s.bib) { a.bib = s.bib; }
    if (s.name) { a.name = s.name; a.named = true; }
    if (s.category) { a.cat = s.category; }
    a.lat = s.lat; a.lon = s.lon; a.distance = s.distance; a.status = s.status;
    a.rank = s.rank == null ? null : s.rank;
    a.pace = s.pace == null ? null : s.pace;
    a.gap = s.gap == null ? null : s.gap;
    a.hr = s.hr == null ? null : s.hr;
    a.flags = s.flags || 0;
    if (s.finish_time != null) { a.finish = s.finish_time; }
    else if (s.eta) { a.finish = s.eta - start; }
    else { a.finish = null; }
  }
  // What spectators see: off course in place of racing or stopped (never SOS: private).
  function shownStatus(a) {
    return (a.flags & OFF_COURSE) && (a.status === "racing" || a.status === "stopped") ? "off_course" : a.status;
  }
  var GROUP = { finished: 0, racing: 0, stopped: 0, lost_signal: 0, not_started: 1, dnf: 2 };
  // Ranks come from frames of different seqs: the focus's states every tick (the leaders
  // and those followed, and only while they are), everyone's compact entries every field
  // interval, field.json up to two seconds old. A rank is one athlete's at any one seq, so
  // an athlete whose rank another holds from a later frame has lost it (a leader passed
  // drops out of the focus: no state tells the page so until the next field frame). Such a
  // rank is stale: not shown, and its row stays just behind the one that took it.
  // It stays stale until a frame brings the athlete's figures again, even once nobody
  // holds that rank any more (the one who took it moved on): it is no truer then.
  // `rankAt` is the seq a rank is from (null: no seq known, never stale).
  function freshRanks(list) {
    var holder = new Map();
    list.forEach(function (a) {
      a.rankStale = a.rank != null && a.staleAt != null && a.staleAt === a.rankAt;
      if (a.rank == null || a.rankAt == null || a.rankStale) { return; }
      var b = holder.get(a.rank);
      if (!b || b.rankAt < a.rankAt) { holder.set(a.rank, a); }
    });
    list.forEach(function (a) {
      if (a.rank == null || a.rankAt == null || a.rankStale) { return; }
      var b = holder.get(a.rank);
      if (b !== a && b.rankAt > a.rankAt) { a.rankStale = true; a.staleAt = a.rankAt; }
    });
    return list;
  }
  function rankOf(a) { return a.rankStale ? null : a.rank; }
  function byStanding(a, b) {
    var ga = GROUP[a.status] || 0, gb = GROUP[b.status] || 0;
    if (ga !== gb) { return ga - gb; }
    if (a.rank != null && b.rank != null && a.rank !== b.rank) { return a.rank - b.rank; }
    if ((a.rank == null) !== (b.rank == null)) { return a.rank == null ? 1 : -1; }
    if (a.rank != null && !a.rankStale !== !b.rankStale) { return a.rankStale ? 1 : -1; }
    if (b.distance !== a.distance) { return b.distance - a.distance; }
    return a.id - b.id;
  }
  function badge(status) { return el("span", "st st-" + status, STATUS[status] || status); }
  function label(a) { return (a.bib ? "#" + a.bib + " " : "") + (a.name == null ? "" : a.name); }

  // One board row's cells: rank, bib, athlete (name, bib · category · status), km, pace,
  // gap, ETA (projected finish as a time of day; the finish time once finished).
  function rowCells(a, clockTime, start) {
    var shown = shownStatus(a);
    var finished = a.status === "finished";
    return {
      rank: rankOf(a) != null && GROUP[a.status] === 0 ? String(a.rank) : "–",
      bib: a.bib || "",
      name: a.name == null ? "" : String(a.name),
      meta: [a.bib ? "#" + a.bib : "", a.cat].filter(Boolean).join(" · "),
      status: shown === "racing" ? "" : shown,
      km: a.lat == null && !a.distance ? "–" : km(a.distance),
      pace: finished ? "–" : pace(a.pace),
      gap: rankOf(a) === 1 && GROUP[a.status] === 0 ? "Leader" : (a.gap != null ? "+" + duration(a.gap) : "–"),
      eta: finished ? duration(a.finish) : (a.finish != null ? clockTime(start + a.finish) : "–")
    };
  }
  // Seconds between two field.json refreshes of `bytes` (compressed) while the socket
  // takes `socketRate` B/s (null: not measured yet). What the field's refreshes may take of
  // a spectator's 5 KB/s is what the socket leaves of LIVE_BYTES_PER_S (the focus's ticks
  // are meant to take SOCKET_GUESS_BYTES_PER_S, but a busy board takes more), less one
  // field.json spread over LIVE_WINDOW_S: refreshes P s apart put up to W / P + 1 of them
  // in a window of W s, so the budget holds over any window of two minutes or more, not
  // only on average; every 10 to FIELD_PERIOD_MAX_S s (docs/live-tracking.md, "Keeping
  // the whole field fresh within 5 KB/s").
  var LIVE_BYTES_PER_S = 4750;
  var LIVE_WINDOW_S = 120;
  var SOCKET_GUESS_BYTES_PER_S = 2500;
  var FIELD_HTTP_MIN_BYTES_PER_S = 500;
  var FIELD_PERIOD_MAX_S = 55; // + the shared copy's 2 s + the fetch: within the minute
  function fieldRefreshSeconds(bytes, socketRate) {
    var socket = socketRate == null ? SOCKET_GUESS_BYTES_PER_S : socketRate;
    var budget = Math.max(FIELD_HTTP_MIN_BYTES_PER_S, LIVE_BYTES_PER_S - bytes / LIVE_WINDOW_S - socket);
    return Math.max(10, Math.min(FIELD_PERIOD_MAX_S, Math.ceil(bytes / budget)));
  }

  // The y axis as wide as its longest label ("2500 m" in the mountains, "12:30" of pace),
  // measured in the chart's own font, as uPlot's docs size an axis to its values.
  function axisWidth(u, values, i, cycle) {
    var axis = u.axes[i];
    if (cycle > 1) { return axis._size; }
    var longest = (values || []).reduce(function (a, v) { return String(v).length > a.length ? String(v) : a; }, "");
    u.ctx.font = axis.font[0];
    return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / (window.devicePixelRatio || 1)) + 2;
  }

  // The pace chart's y axis, in s/km: scaled to what the athlete actually ran. The median
  // and the spread around it (MAD) set it, not the extremes: the first seconds after the gun,
  // a stop at a drinks table or a GPS jump would otherwise stretch it to many minutes a
  // kilometre and flatten the race itself into one line. The axis is padded, its ticks a
  // round step (5 s … 10 min) inside it, clear of its edges (a label there is cut off), and
  // values beyond it are drawn at its edge. The chart's scale runs faster = higher.
  // `distances` (m, one a value): the paces of the first PACE_WINDOW_M after the athlete
  // started moving set no scale either. Each is an average since the first fix, standing at
  // the start line included (a wave start, a late start), and falls from an hour a
  // kilometre to the race's pace over those 200 m: at the start of a race, a third of the
  // chart. They are left out unless they are nearly all there is.
  var PACE_STEPS = [5, 10, 15, 20, 30, 60, 120, 300, 600];
  var PACE_WINDOW_M = 200; // the panel's pace: over the last 200 m (tracking/web/athletedata.py)
  function paceAxis(values, distances) {
    function usable(x) { return x != null && isFinite(x) && x > 0 && x <= 3600; }
    var v = (values || []).filter(usable);
    if (distances) {
      var from = null;
      values.forEach(function (x, i) { if (from == null && usable(x)) { from = distances[i]; } });
      var settled = values.filter(function (x, i) { return usable(x) && distances[i] >= from + PACE_WINDOW_M; });
      if (settled.length >= 5) { v = settled; }
    }
    v.sort(function (a, b) { return a - b; });
    if (!v.length) { return null; }
    function q(p) { return v[Math.min(v.length - 1, Math.max(0, Math.round(p * (v.length - 1))))]; }
    var med = q(0.5);
    var mad = v.map(function (x) { return Math.abs(x - med); }).sort(function (a, b) { return a - b; });
    var spread = Math.max(20, 5 * 1.4826 * mad[Math.floor((mad.length - 1) / 2)]);
    var lo = Math.max(q(0.05), med - spread), hi = Math.min(q(0.95), med + spread);
    var pad = Math.max(8, (hi - lo) * 0.25);
    var min = Math.max(0, lo - pad), max = hi + pad;
    var margin = (max - min) * 0.08, step = PACE_STEPS[PACE_STEPS.length - 1], splits = [];
    for (var i = 0; i < PACE_STEPS.length; i++) {
      var s = PACE_STEPS[i], first = Math.ceil((min + margin) / s) * s, n = Math.floor((max - margin - first) / s) + 1;
      if (n <= 3) { step = s; break; }
    }
    for (var t = Math.ceil((min + margin) / step) * step; t <= max - margin; t += step) { splits.push(t); }
    if (!splits.length) { splits.push(Math.round((min + max) / 2)); }
    return {
      min: min, max: max, splits: splits,
      clamp: function (x) { return x == null || !isFinite(x) || x <= 0 ? null : Math.min(max, Math.max(min, x)); }
    };
  }

  var Live = window.PaceLive = window.PaceLive || {};
  Object.assign(Live, {
    STATUS: STATUS, el: el, append: append, duration: duration, pace: pace, km: km,
    ordinal: ordinal, blank: blank, applyCompact: applyCompact, applyState: applyState,
    shownStatus: shownStatus, freshRanks: freshRanks, rankOf: rankOf, byStanding: byStanding, badge: badge, label: label, rowCells: rowCells,
    fieldRefreshSeconds: fieldRefreshSeconds, axisWidth: axisWidth, paceAxis: paceAxis
  });

  var config = document.getElementById("live-config");
  if (!config || !document.getElementById("live")) { return; } // another page reusing the pieces
  var cfg = JSON.parse(config.textContent);

  // --- the page --------------------------------------------------------------------------------
  var BOARD_STEP = 200;
  var MAX_FOLLOWS = 50;
  var STALE_MS = 5000; // ticks come every second: five without one is stale
  var DEAD_MS = 25000; // and this long without a frame, the socket is reconnected
  var ANNOUNCE_MS = 10000;
  var followKey = "pace-follow-" + cfg.id;
  // The whole field over HTTP (field.json) while the socket's field frames would be
  // further apart than this: every athlete at most a minute old.
  var FIELD_MAX_AGE_S = 60;
  // The socket's rate, for fieldRefreshSeconds: averaged over about SOCKET_RATE_S, not
  // known for its first SOCKET_RATE_AFTER_S.
  var SOCKET_RATE_S = 20;
  var SOCKET_RATE_AFTER_S = 15;
  var FIELD_GUESS_BYTES = 30; // an athlete in field.json compressed, until one is measured

  // Athletes by id. The roster (names, bibs, categories) and the whole field arrive over
  // HTTP beside the socket (roster.json, field.json), so until then only those the
  // snapshot brought are known: its state objects carry names and bibs.
  var athletes = new Map();
  var byBib = new Map();
  var rosterLoaded = false, fieldLoaded = false;
  var raceInfo = {}; // the snapshot's race: athletes (count), field_interval, field_url
  var fieldTimer = null, fieldFetch = null, fieldBytes = null, fieldSeq = null, fieldFollowUp = false;
  // The socket's bytes (snapshots aside), decayed by SOCKET_RATE_S, since socketSince.
  var socketBytes = 0, socketAt = 0, socketSince = 0;
  var follows = loadFollows();
  var seq = 0;
  var clockOffset = 0; // server time minus this device's time, in seconds
  var ws = null;
  var attempt = 0;
  var retryTimer = null;
  var followTimer = null;
  var renderQueued = false;
  var lastFrame = 0;
  var served = false; // this socket has brought a snapshot
  var resyncing = false; // a follow went out for a fresh snapshot, which has not come yet
  var filters = { q: "", cat: "", sex: "", status: "" };
  var boardLimit = BOARD_STEP;
  var activeRow = null; // the board row in the Tab order (roving tabindex)
  var panelId = null;
  var notified = new Set();

  function $(id) { return document.getElementById(id); }
  function now() { return Date.now() / 1000 + clockOffset; }
  var hhmm;
  try {
    hhmm = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: cfg.timezone });
  } catch (e) {
    hhmm = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false });
  }
  function clockTime(epoch) { return epoch ? hhmm.format(new Date(epoch * 1000)) : "–"; }
  function athlete(id) {
    var a = athletes.get(id);
    if (!a) { a = blank(id, null); athletes.set(id, a); } // joined after the page was rendered
    return a;
  }
  function isFollowed(id) { return follows.indexOf(id) >= 0; }
  function loadFollows() {
    // Checked against the roster once it has come (applyRoster).
    try {
      var ids = JSON.parse(localStorage.getItem(followKey) || "[]");
      return ids.filter(function (id) { return typeof id === "number"; }).slice(0, MAX_FOLLOWS);
    } catch (e) { return []; }
  }
  function saveFollows() {
    try { localStorage.setItem(followKey, JSON.stringify(follows)); } catch (e) { /* private mode */ }
  }
  function toast(text) {
    var box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 3000);
  }
  // One live region, at most one announcement every ANNOUNCE_MS: the latest waits its turn.
  var announced = 0, announceNext = null, announceTimer = null;
  function announce(text) {
    announceNext = text;
    if (announceTimer) { return; }
    var wait = Math.max(0, announced + ANNOUNCE_MS - Date.now());
    announceTimer = setTimeout(function () {
      announceTimer = null;
      announced = Date.now();
      $("announcer").textContent = announceNext;
    }, wait);
  }
  function notify(title, body) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    try { new Notification(title, { body: body, tag: "pace-" + cfg.id + "-" + title }); } catch (e) { /* Android: needs a service worker */ }
  }

  // --- map ---------------------------------------------------------------------------------
  var map = null, markers = new Map(), fitted = false, centerOn = null, courseBounds = null;
  // Leaflet (37 KB gzipped) is fetched once the board is live, not with the page: on a
  // 400 kbps phone it would share the line with live.js and the snapshot, and a phone
  // opens on the board (the map is a tab away). A tap on the map tab fetches it at once.
  var leaflet = null;
  function loadMap() {
    if (leaflet) { return; }
    leaflet = true;
    var css = el("link"); css.rel = "stylesheet"; css.href = cfg.leaflet[1];
    document.head.appendChild(css);
    var script = el("script"); script.src = cfg.leaflet[0]; script.async = true;
    script.onload = function () { startMap(); queueRender(); };
    script.onerror = function () { leaflet = null; };
    document.head.appendChild(script);
  }
  function startMap() {
    if (!window.L || map) { return; }
    var big = Math.max(raceInfo.athletes || 0, athletes.size) > 1500;
    map = C.baseMap("live-map", { zoomControl: true, preferCanvas: big }, cfg.tiles);
    if (cfg.course_url) {
      C.fetchCourse(cfg.course_url)
        .then(drawCourse)
        .catch(function () { toast("The course could not be loaded."); });
    }
  }
  function drawCourse(feature) {
    var latlngs = C.courseLatLngs(feature);
    L.polyline(latlngs, { color: "#1d3557", weight: 7, opacity: 0.25, className: "course-casing", interactive: false }).addTo(map);
    var line = L.polyline(latlngs, { color: "#e4572e", weight: 3.5, className: "course-line", interactive: false }).addTo(map);
    (feature.properties.split_points || []).forEach(function (sp) {
      C.outOfTabOrder(L.circleMarker([sp.lat, sp.lon], { radius: 4, color: "#1d3557", weight: 2, fillColor: "#fff", fillOpacity: 1, className: "split-marker" })
        .bindTooltip(el("span", null, sp.name + " · " + (sp.distance / 1000).toFixed(1) + " km"))
        .addTo(map));
    });
    courseBounds = line.getBounds();
    fitted = false;
    fitMap();
  }
  // A map in a hidden tab (a phone on the board) has no size: fitted once it shows.
  function mapShown() { return $("live-map").offsetWidth > 0; }
  function fitMap() {
    if (!map || fitted || !mapShown() || centerOn) { return; }
    if (courseBounds) { map.fitBounds(courseBounds, { padding: [24, 24] }); fitted = true; }
  }
  var COLORS = { finished: "#2a9d8f", stopped: "#f4a261", lost_signal: "#8d99ae", dnf: "#8d99ae", off_course: "#7b2cbf" };
  function markerStyle(a) {
    var followed = isFollowed(a.id), shown = shownStatus(a);
    var color = COLORS[shown] || "#e4572e";
    if (rankOf(a) === 1 && shown === "racing") { color = "#f2b705"; }
    return {
      radius: followed ? 9 : 6, color: followed ? "#14213d" : "#fff", weight: followed ? 3 : 1.5,
      fillColor: color, fillOpacity: 0.95
    };
  }
  function placeMarker(a) {
    if (!map || a.lat == null || a.lon == null) { return; }
    if (!render.mapped) { render.mapped = true; performance.mark("pace:map"); }
    var m = markers.get(a.id);
    var followed = isFollowed(a.id);
    // A big race's markers are redrawn only when they moved or changed their look.
    var key = a.lat + "," + a.lon + "," + shownStatus(a) + "," + (rankOf(a) === 1) + "," + followed + "," + a.name + "," + (centerOn === a.id);
    if (m && m.key === key && centerOn !== a.id) { return; }
    if (!m) {
      // The keyboard goes through the board's rows, never through hundreds of markers.
      m = L.circleMarker([a.lat, a.lon], Object.assign({ className: "athlete-marker" }, markerStyle(a)));
      m.on("click", function () { openPanel(a.id); });
      m.label = el("span", null, "");
      m.bindTooltip(m.label, { direction: "top", offset: [0, -6] });
      C.outOfTabOrder(m.addTo(map));
      markers.set(a.id, m);
    } else {
      m.setLatLng([a.lat, a.lon]);
      m.setStyle(markerStyle(a));
    }
    m.key = key;
    var text = label(a) + (shownStatus(a) === "off_course" ? " · Off course" : "");
    if (m.label.textContent !== text) {
      m.label.textContent = text;
      if (m.isTooltipOpen()) { m.getTooltip().update(); }
    }
    if (followed && !m.isTooltipOpen()) { m.openTooltip(); }
    if (followed) { m.bringToFront(); }
    if (centerOn === a.id && mapShown()) { centerOn = null; fitted = true; map.setView([a.lat, a.lon], Math.max(map.getZoom(), 15)); }
  }

  // --- frames ------------------------------------------------------------------------------
  // An athlete's `at` is the seq of the frame its figures are from: the socket's frames
  // and field.json (shared, up to two seconds old) arrive in any order, and an entry only
  // replaces figures from its own seq or before.
  function compact(e, at) {
    var a = athlete(e[0]);
    if (a.at != null && a.at > at) { return; }
    var before = a.status;
    applyCompact(a, e);
    a.at = at;
    if (e.length > 5) { a.rankAt = at; }
    watch(a, before);
  }
  function state(s, at) {
    var a = athlete(s.id);
    var before = a.status;
    applyState(a, s, cfg.start);
    a.rankAt = at;
    if (a.at == null || a.at < at) { a.at = at; }
    watch(a, before);
    if (a.bib) { byBib.set(String(a.bib), a); }
    if (sharedBib && !rosterLoaded) { focusShared(); }
  }
  function watch(a, before) {
    // A followed athlete finishing without a result frame (a replaced socket): say so once.
    if (before !== "finished" && a.status === "finished" && isFollowed(a.id) && seq) {
      passed(a, "Finish", a.finish != null ? cfg.start + a.finish : null, null);
    }
  }
  function passed(a, point, time, rank) {
    var key = a.id + "|" + point;
    if (notified.has(key)) { return; }
    notified.add(key);
    var text = (point === "Finish" ? "finished in " : "passed " + point + " in ") + duration(time - cfg.start) + (rank ? " (" + ordinal(rank) + ")" : "");
    if (isFollowed(a.id)) {
      notify(label(a), text);
      announce(label(a) + " " + text);
    }
    return text;
  }
  function resync() {
    // A lost tick: ask for a fresh snapshot (the server answers a follow with one), once:
    // the ticks that come before it would each ask again.
    if (resyncing) { return; }
    if (ws && ws.readyState === WebSocket.OPEN) { resyncing = true; sendFollow(); }
  }
  function sendFollow() { ws.send(JSON.stringify({ type: "follow", athletes: follows })); }

  var handlers = {
    snapshot: function (f) {
      served = true;
      resyncing = false;
      var again = seq > 0;
      seq = f.seq;
      raceInfo = f.race || {};
      if (f.t) { clockOffset = f.t - Date.now() / 1000; }
      athletes.forEach(function (a) { a.state = null; });
      f.field.forEach(function (e) { compact(e, f.seq); });
      f.athletes.forEach(function (s) { state(s, f.seq); });
      renderFeed(f.posts || []);
      attempt = 0;
      setStatus("live", "Live");
      if (!raceInfo.field_url) {
        // A server without ?field=later: its snapshot held the whole field.
        if (fieldFetch) { fieldFetch.abort(); }
        fieldLoaded = true;
      } else if (again) {
        loadField(); // back after a break: the field moved meanwhile
      }
      scheduleField();
      followUpField();
      // The first snapshot is drawn now, not at the next animation frame: on a slow phone
      // the fetches' answers (the roster, the field) may come first and push it back.
      if (!render.live) { render(); } else { queueRender(); }
    },
    tick: function (f) {
      if (f.seq <= seq) { return; }
      if (seq && f.seq > seq + 1) { resync(); return; }
      seq = f.seq;
      clockOffset = f.t - Date.now() / 1000;
      f.athletes.forEach(function (s) { state(s, f.seq); });
      setStatus("live", "Live");
      queueRender();
    },
    field: function (f) { f.field.forEach(function (e) { compact(e, f.seq); }); queueRender(); },
    kudos: function (f) { athlete(f.athlete).kudos = f.count; queueRender(); },
    post: function (f) { addPost(f); if (panelId === f.athlete) { panelPost(f); } },
    post_hidden: function (f) { removePost(f.id); },
    result: function (f) {
      var a = athlete(f.athlete);
      var text = passed(a, f.point, f.time, f.rank) ||
        (f.point === "Finish" ? "finished in " : "passed " + f.point + " in ") + duration(f.time - cfg.start) + (f.rank ? " (" + ordinal(f.rank) + ")" : "");
      addFeed("result", a, text, f.time);
      if (panelId === a.id) { loadPanelData(a.id); }
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

  // --- the field and the roster over HTTP ------------------------------------------------------
  function fetchJson(url, signal) {
    return fetch(url, { credentials: "same-origin", signal: signal })
      .then(function (r) { if (!r.ok) { throw new Error(url + " " + r.status); } return r.json(); });
  }
  // field.json: every athlete's compact entry at the server's latest tick (two seconds
  // old at most), fetched as the page opens, beside the socket's snapshot (its focus only).
  function loadField() {
    if (fieldFetch) { return; }
    var ctl = window.AbortController ? new AbortController() : null;
    fieldFetch = ctl || { abort: function () {} };
    fetchJson(cfg.field_url, ctl && ctl.signal).then(function (doc) {
      fieldFetch = null;
      measureField();
      doc.field.forEach(function (e) { compact(e, doc.seq); });
      fieldSeq = doc.seq;
      if (!fieldLoaded) { fieldLoaded = true; render.fieldMark = true; }
      followUpField();
      queueRender();
    }).catch(function () {
      fieldFetch = null;
      if (!fieldLoaded) { setTimeout(loadField, 5000); } // the socket's field frames come too
    });
  }
  // A field.json older than the snapshot (the shared copy is up to two seconds old): an
  // athlete that changed in between and not since (one who finished) would keep its older
  // figures, as the socket's field frames bring only what changes after the snapshot. With
  // no refresh due, it is fetched once more, when the shared copy is a fresher one.
  function followUpField() {
    if (fieldSeq == null || !seq || fieldSeq >= seq || fieldFollowUp || fieldPeriod()) { return; }
    fieldFollowUp = true;
    setTimeout(loadField, 2500);
  }
  function measureField() {
    // What the last field.json took on the wire (compressed), to space the refreshes.
    var url = new URL(cfg.field_url, location.href).href;
    var entries = performance.getEntriesByName ? performance.getEntriesByName(url) : [];
    var last = entries[entries.length - 1];
    if (last && last.encodedBodySize) { fieldBytes = last.encodedBodySize; }
  }
  // Seconds between field.json refreshes, or 0 when the socket's field frames come often
  // enough (every FIELD_MAX_AGE_S or less): in a big race they are further apart (128 s at
  // 5,000 athletes); field.json, compressed, refreshes everyone within the budget.
  function fieldPeriod() {
    var interval = raceInfo.field_interval || 0;
    if (!raceInfo.field_url || interval <= FIELD_MAX_AGE_S) { return 0; }
    var bytes = fieldBytes || (raceInfo.athletes || athletes.size) * FIELD_GUESS_BYTES;
    return fieldRefreshSeconds(bytes, socketRate());
  }
  // An exponentially weighted count: a quiet hour before the start does not hide the
  // ticks of the race once it runs, and a new snapshot (a follow) does not reset it.
  function countSocket(bytes) {
    var now = Date.now();
    if (!socketSince) { socketSince = socketAt = now; }
    socketBytes = socketBytes * Math.exp((socketAt - now) / 1000 / SOCKET_RATE_S) + bytes;
    socketAt = now;
  }
  // The socket's bytes a second, over about the last SOCKET_RATE_S (corrected for a
  // count younger than that); null in its first SOCKET_RATE_AFTER_S.
  function socketRate() {
    var seconds = (Date.now() - socketSince) / 1000;
    if (!socketSince || seconds < SOCKET_RATE_AFTER_S) { return null; }
    var decayed = socketBytes * Math.exp((socketAt - Date.now()) / 1000 / SOCKET_RATE_S);
    return decayed / (SOCKET_RATE_S * (1 - Math.exp(-seconds / SOCKET_RATE_S)));
  }
  function scheduleField() {
    if (fieldTimer) { return; }
    var period = fieldPeriod();
    if (period) {
      fieldTimer = setTimeout(function () { fieldTimer = null; loadField(); scheduleField(); }, period * 1000);
    }
  }
  // roster.json: [[id, bib, name, category, sex], ...], for the board's names and filters.
  function loadRoster() {
    fetchJson(cfg.roster_url).then(applyRoster).catch(function () { setTimeout(loadRoster, 5000); });
  }
  function applyRoster(doc) {
    doc.roster.forEach(function (r) {
      var a = athlete(r[0]);
      a.bib = r[1]; a.name = r[2]; a.named = true; a.cat = r[3] || ""; a.sex = r[4] || "";
      if (a.bib) { byBib.set(String(a.bib), a); }
    });
    rosterLoaded = true;
    relabelFeed();
    // Followed athletes no longer in the race (a cancelled entry) are dropped.
    var kept = follows.filter(function (id) { return doc.roster.some(function (r) { return r[0] === id; }); });
    if (kept.length !== follows.length) {
      follows = kept;
      saveFollows();
      if (ws && ws.readyState === WebSocket.OPEN) { sendFollow(); }
    }
    if (sharedBib) { focusShared(); }
    queueRender();
  }

  // --- connection --------------------------------------------------------------------------
  // Past its tracking window the race is over, whatever the socket still brings: the
  // badge says so, the clock stops and the page points to the results and the replay.
  function over() { return cfg.closes != null && now() > cfg.closes; }
  function showOver() {
    var box = $("live-over");
    if (!box.hidden) { return; }
    var links = $("live-over-links");
    (cfg.after || []).forEach(function (link, i) {
      var a = el("a", null, link.label);
      a.href = link.url;
      if (i) { links.appendChild(document.createTextNode(" · ")); }
      links.appendChild(a);
    });
    box.hidden = false;
    setStatus("over", "Race over");
  }
  function setStatus(name, text) {
    if (name !== "over" && over()) { name = "over"; text = "Race over"; }
    var badgeEl = $("live-status");
    if (badgeEl.dataset.state === name && badgeEl.textContent === text) { return; }
    badgeEl.dataset.state = name;
    badgeEl.textContent = text;
  }
  function connect() {
    clearTimeout(retryTimer);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    // live.html opened the first socket while this script was downloading: take it over.
    var early = window.paceEarlySocket;
    window.paceEarlySocket = null;
    var socket = ws = early ? early.ws : new WebSocket(scheme + location.host + cfg.ws);
    lastFrame = Date.now();
    served = false;
    resyncing = false;
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    socket.onopen = function () { if (follows.length) { sendFollow(); } };
    socket.onmessage = function (ev) {
      lastFrame = Date.now();
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      // A snapshot is not what the socket takes over time (PROTOCOL.md: once a connection).
      if (f.type !== "snapshot" && typeof ev.data === "string") { countSocket(ev.data.length); }
      var handler = handlers[f.type];
      if (handler) { handler(f); }
    };
    socket.onclose = function (ev) {
      if (ws !== socket) { return; }
      ws = null;
      if (ev.code === 4404) { setStatus("off", "Not available"); return; }
      attempt += 1;
      var delay = C.reconnectDelay(attempt, ev);
      setStatus("off", "Offline · retrying in " + Math.ceil(delay) + " s");
      retryTimer = setTimeout(connect, delay * 1000);
    };
    if (early) { // what it received (or how it closed) before this script ran
      early.frames.forEach(function (ev) { socket.onmessage(ev); });
      if (early.closed) { socket.onclose(early.closed); } else if (socket.readyState === 1) { socket.onopen(); }
    }
  }
  // Stale data is shown; a socket silent for DEAD_MS is replaced (a fresh snapshot follows).
  // A socket that brought no snapshot within DEAD_MS (a server that accepted it and could
  // not serve it, or an upgrade that never finished) is replaced too.
  function checkStale() {
    if (ws && !served && Date.now() - lastFrame > DEAD_MS) { ws.close(); return; }
    if (!ws || ws.readyState !== WebSocket.OPEN || !seq) { return; }
    var quiet = Date.now() - lastFrame;
    if (quiet > DEAD_MS) { ws.close(); return; }
    if (quiet > STALE_MS) { setStatus("stale", "Stale · " + Math.round(quiet / 1000) + " s ago"); }
  }
  // Back on a network (or back to a tab the phone had frozen): do not wait out the backoff.
  window.addEventListener("online", function () { if (!ws) { attempt = 0; connect(); } });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !ws) { connect(); }
  });

  // --- following and kudos -----------------------------------------------------------------
  function toggleFollow(id) {
    var i = follows.indexOf(id);
    if (i >= 0) { follows.splice(i, 1); }
    else if (follows.length >= MAX_FOLLOWS) { toast("You can follow at most 50 athletes."); return; }
    else {
      follows.push(id);
      // Asked on this click (a user gesture), once: splits and finishes of those followed.
      if ("Notification" in window && Notification.permission === "default") {
        try { Notification.requestPermission(); } catch (e) { /* old Safari: callback form */ }
      }
    }
    saveFollows();
    var m = markers.get(id);
    if (m && i >= 0) { m.closeTooltip(); }
    if (ws && ws.readyState === WebSocket.OPEN) { sendFollow(); }
    queueRender();
  }
  function kudos(id) {
    if (!ws || ws.readyState !== WebSocket.OPEN) { toast("Offline: kudos will work again once reconnected."); return; }
    ws.send(JSON.stringify({ type: "kudos", athlete: id }));
    document.querySelectorAll('.kudos[data-id="' + id + '"]').forEach(function (btn) {
      btn.classList.remove("pop"); void btn.offsetWidth; btn.classList.add("pop");
    });
  }

  // --- the board -----------------------------------------------------------------------------
  var rows = new Map(); // id -> tr, reused from render to render (focus stays on its row)
  function setText(node, text) { if (node.textContent !== text) { node.textContent = text; } }
  function makeRow(id) {
    var tr = el("tr");
    tr.dataset.id = id;
    tr.tabIndex = -1;
    var who = el("td", "who");
    var star = el("span", "star");
    star.setAttribute("aria-hidden", "true");
    append(who, [star, el("span", "nm"), el("span", "meta"), el("span", "st")]);
    append(tr, [el("td", "num rank"), el("td", "bib"), who, el("td", "num km"), el("td", "num pace"), el("td", "num gap"), el("td", "num eta")]);
    return tr;
  }
  function fillRow(a) {
    var tr = rows.get(a.id);
    if (!tr) { tr = makeRow(a.id); rows.set(a.id, tr); }
    var c = rowCells(a, clockTime, cfg.start), td = tr.children, who = td[2].children;
    var followed = isFollowed(a.id);
    var cls = "row-" + (c.status || "racing") + (followed ? " followed" : "") + (panelId === a.id ? " open" : "");
    if (tr.className !== cls) { tr.className = cls; }
    setText(td[0], c.rank); setText(td[1], c.bib);
    setText(who[0], followed ? "★" : "☆"); setText(who[1], c.name); setText(who[2], c.meta);
    setText(who[3], c.status ? STATUS[c.status] || c.status : "");
    who[3].className = c.status ? "st st-" + c.status : "st";
    setText(td[3], c.km); setText(td[4], c.pace); setText(td[5], c.gap); setText(td[6], c.eta);
    return tr;
  }
  function matches(a) {
    if (filters.cat && a.cat !== filters.cat) { return false; }
    if (filters.sex && a.sex !== filters.sex) { return false; }
    if (filters.q) {
      // Folded once per name and per keystroke, not per row and render: a board of
      // 5,000 filters on every keystroke and redraws every tick.
      var q = filters.q, text = a.bib + " " + a.name;
      if (a.foldedOf !== text) { a.foldedOf = text; a.foldedBib = C.folded(a.bib); a.foldedText = C.folded(text); }
      if (a.foldedBib !== q && a.foldedText.indexOf(q) < 0) { return false; }
    }
    return true;
  }
  function place(body, wanted) {
    // Put the wanted rows in order, moving only those out of place; drop the others.
    var focused = document.activeElement;
    var keep = new Set(wanted);
    Array.prototype.slice.call(body.children).forEach(function (tr) { if (!keep.has(tr)) { body.removeChild(tr); } });
    var at = body.firstChild;
    wanted.forEach(function (tr) {
      if (tr === at) { at = at.nextSibling; } else { body.insertBefore(tr, at); }
    });
    if (focused && focused.tagName === "TR" && keep.has(focused) && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
  }
  function renderBoard(list, counts) {
    var pinned = [], main = [], more = 0;
    list.forEach(function (a) {
      if (isFollowed(a.id)) { pinned.push(a); return; }
      if (!fieldLoaded && a.at == null) { return; } // named by the roster, no figures yet
      if (!matches(a) || (filters.status && shownStatus(a) !== filters.status)) { return; }
      if (main.length < boardLimit) { main.push(a); } else { more += 1; }
    });
    var pinnedRows = pinned.map(fillRow), mainRows = main.map(fillRow);
    var all = pinnedRows.concat(mainRows);
    var inBoard = $("board").contains(document.activeElement);
    if (!activeRow || all.indexOf(activeRow) < 0 || (!inBoard && panelId == null)) { activeRow = all[0] || null; }
    all.forEach(function (tr) { var t = tr === activeRow ? 0 : -1; if (tr.tabIndex !== t) { tr.tabIndex = t; } });
    place($("board-pinned"), pinnedRows);
    if (!mainRows.length) {
      var filtered = filters.q || filters.cat || filters.sex || filters.status;
      var empty = el("td", null, filtered ? "Nobody matches." : (pinnedRows.length ? "" : "Waiting for the race…"));
      empty.colSpan = 7;
      mainRows = [append(el("tr", "board-empty"), [empty])];
    }
    place($("board-body"), mainRows);
    var btn = $("board-more");
    btn.hidden = more === 0;
    if (more) { setText(btn, "Show " + Math.min(more, BOARD_STEP) + " more of " + more); }
    if (fieldLoaded) { renderCounts(counts); } // counts of a part of the field would mislead
  }
  // The status chips: made once, their counts updated in place (no layout jumps under a
  // finger or the pointer); a status nobody has is hidden unless it is the filter.
  function renderCounts(counts) {
    var box = $("board-counts");
    if (!box.firstChild) {
      [""].concat(COUNTED).forEach(function (k) {
        var b = el("button", "schip schip-" + (k || "all"));
        b.type = "button";
        b.dataset.status = k;
        append(b, [(k ? STATUS[k] : "All") + " ", el("span", "schip-n", "0")]);
        box.appendChild(b);
      });
    }
    var total = 0;
    COUNTED.forEach(function (k) { total += counts[k] || 0; });
    Array.prototype.forEach.call(box.children, function (b) {
      var k = b.dataset.status, n = k ? counts[k] || 0 : total;
      setText(b.lastChild, String(n));
      b.hidden = k !== "" && n === 0 && filters.status !== k;
      var pressed = filters.status === k ? "true" : "false";
      if (b.getAttribute("aria-pressed") !== pressed) { b.setAttribute("aria-pressed", pressed); }
    });
  }
  // The followed athletes over the map: one item each, made once and updated in place, so
  // a keyboard's focus on its buttons survives the ticks.
  var followItems = new Map();
  function followItem(id) {
    var item = followItems.get(id);
    if (item) { return item; }
    var unfollow = el("button", "unfollow", "×");
    unfollow.type = "button";
    unfollow.dataset.id = id;
    var cheer = el("button", "kudos");
    cheer.type = "button";
    cheer.dataset.id = id;
    var who = el("button", "fw-name");
    who.type = "button";
    who.dataset.open = id;
    var st = el("span", "st");
    var facts = el("div", "fw-facts");
    item = { li: append(el("li"), [unfollow, append(el("div", "fw-who"), [who, st]), facts, cheer]),
      unfollow: unfollow, cheer: cheer, who: who, st: st, facts: facts, kudos: undefined };
    followItems.set(id, item);
    return item;
  }
  function renderFollows() {
    var box = $("live-follow");
    box.hidden = follows.length === 0;
    var wanted = follows.map(function (id) {
      var a = athlete(id), s = a.state || {}, item = followItem(id);
      var facts = [km(a.distance) + " km"];
      if (rankOf(a) && GROUP[a.status] === 0) { facts.push(ordinal(a.rank)); }
      if (a.pace && a.status !== "finished") { facts.push(pace(a.pace) + "/km"); }
      if (s.hr) { facts.push(s.hr + " bpm"); }
      if (a.status === "finished" && a.finish != null) { facts.push("finished " + duration(a.finish)); }
      else if (a.finish != null) { facts.push("ETA " + clockTime(cfg.start + a.finish)); }
      var shown = shownStatus(a);
      setText(item.who, label(a));
      item.unfollow.setAttribute("aria-label", "Stop following " + label(a));
      setText(item.st, STATUS[shown] || shown);
      item.st.className = "st st-" + shown;
      setText(item.facts, facts.join(" · "));
      if (item.kudos !== a.kudos) {
        item.kudos = a.kudos;
        item.cheer.textContent = "Kudos";
        if (a.kudos) { append(item.cheer, [" ", el("span", "kc", a.kudos)]); }
      }
      return item.li;
    });
    followItems.forEach(function (item, id) { if (!isFollowed(id)) { followItems.delete(id); } });
    place($("follow-list"), wanted);
  }
  function render() {
    renderQueued = false;
    var list = freshRanks(Array.from(athletes.values())).sort(byStanding);
    var counts = {}, racing = 0, finished = 0;
    list.forEach(function (a) {
      placeMarker(a);
      if (!matches(a)) { return; }
      var shown = shownStatus(a);
      counts[shown] = (counts[shown] || 0) + 1;
      if (a.status === "finished") { finished += 1; } else if (GROUP[a.status] === 0) { racing += 1; }
    });
    if (map && !fitted && markers.size && mapShown()) {
      map.fitBounds(L.featureGroup(Array.from(markers.values())).getBounds(), { padding: [24, 24], maxZoom: 15 });
      fitted = true;
    }
    if (fieldLoaded) {
      setText($("live-count"), String(racing));
      setText($("live-finished"), String(finished));
    }
    renderBoard(list, counts);
    renderFollows();
    if (panelId != null) { renderPanelFacts(athlete(panelId)); }
    // bench/pages.py's "live": the first snapshot is on the board (the leaders and those
    // followed; a phone opens on it); "field": the whole field too. Then the map's script.
    if (!render.live && $("live-status").dataset.state === "live") {
      render.live = true;
      performance.mark("pace:live");
      setTimeout(loadMap, 0);
    }
    if (render.fieldMark) { render.fieldMark = false; performance.mark("pace:field"); }
  }
  function queueRender() {
    if (renderQueued) { return; }
    renderQueued = true;
    requestAnimationFrame(render);
  }

  // --- the athlete panel ---------------------------------------------------------------------
  var panelOpener = null, panelTimer = null, uplot = null, charts = [];
  Live.panelCharts = function () { return charts.slice(); }; // the panel's uPlots: pace, hr, elevation
  function openPanel(id, opts) {
    var a = athlete(id);
    panelId = id;
    panelOpener = opts && opts.opener || document.activeElement;
    var panel = $("athlete-panel");
    setText($("ap-name"), a.name == null ? "" : String(a.name));
    $("ap-kudos").dataset.id = id;
    $("ap-splits").textContent = "";
    $("ap-splits").appendChild(append(el("tr"), [append(el("td", "muted"), ["Loading…"])]));
    $("ap-posts").textContent = "";
    panel.hidden = false;
    document.body.classList.add("panel-open");
    renderPanelFacts(a);
    if (!(opts && opts.noFocus)) { $("ap-name").focus(); }
    loadPanelData(id);
    clearInterval(panelTimer);
    panelTimer = setInterval(function () { if (panelId === id) { loadPanelData(id); } }, 30000);
    queueRender();
  }
  function closePanel() {
    if (panelId == null) { return; }
    var id = panelId;
    panelId = null;
    clearInterval(panelTimer);
    $("athlete-panel").hidden = true;
    document.body.classList.remove("panel-open");
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var back = rows.get(id);
    if (back && back.isConnected) { activeRow = back; back.focus(); }
    else if (panelOpener && panelOpener.isConnected) { panelOpener.focus(); }
    queueRender();
  }
  function fact(dl, term, value) {
    append(dl, [append(el("div"), [el("dt", null, term), el("dd", null, value)])]);
  }
  function renderPanelFacts(a) {
    var followed = isFollowed(a.id), s = a.state || {};
    var shown = shownStatus(a);
    var sub = $("ap-sub");
    sub.textContent = "";
    append(sub, [[a.bib ? "#" + a.bib : "", a.cat].filter(Boolean).join(" · ") + " ", badge(shown)]);
    var btn = $("ap-follow");
    setText(btn, followed ? "Following" : "Follow");
    btn.setAttribute("aria-pressed", followed ? "true" : "false");
    var kb = $("ap-kudos");
    var kudosText = "Kudos" + (a.kudos ? " " + a.kudos : "");
    if (kb.textContent !== kudosText) { kb.textContent = "Kudos"; if (a.kudos) { append(kb, [" ", el("span", "kc", a.kudos)]); } }
    var dl = el("dl", "ap-facts");
    dl.id = "ap-facts";
    fact(dl, "Distance", a.lat == null && !a.distance ? "–" : km(a.distance) + " km");
    fact(dl, "Rank", rankOf(a) && GROUP[a.status] === 0 ? ordinal(a.rank) : "–");
    fact(dl, "Pace", a.status === "finished" ? "–" : pace(a.pace) + (a.pace ? " /km" : ""));
    fact(dl, "Gap", rankOf(a) === 1 ? "Leader" : (a.gap != null ? "+" + duration(a.gap) : "–"));
    fact(dl, "Heart rate", s.hr ? s.hr + " bpm" : (a.hr ? a.hr + " bpm" : "–"));
    if (a.status === "finished") { fact(dl, "Finish time", duration(a.finish)); }
    else { fact(dl, "Projected finish", a.finish != null ? clockTime(cfg.start + a.finish) + " (" + duration(a.finish) + ")" : "–"); }
    if (s.next_split) { fact(dl, "Next: " + s.next_split.name, "ETA " + clockTime(s.next_split.eta)); }
    var old = $("ap-facts");
    var key = dl.textContent;
    if (old.dataset.key !== key) { dl.dataset.key = key; old.replaceWith(dl); }
  }
  function athleteUrl(id) {
    var url = cfg.athlete_url.replace(/0\.json$/, id + ".json");
    var family = new URLSearchParams(location.search).get("family");
    return family ? url + "?" + new URLSearchParams({ family: family }) : url;
  }
  function loadPanelData(id) {
    fetch(athleteUrl(id), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("athlete " + r.status); } return r.json(); })
      .then(function (data) { if (panelId === id) { renderPanelData(data); } })
      .catch(function () { if (panelId === id) { setText($("ap-splits"), ""); } });
  }
  function renderPanelData(data) {
    var body = $("ap-splits");
    body.textContent = "";
    if (!data.splits.length) { body.appendChild(append(el("tr"), [append(el("td", "muted"), ["None yet."])])); body.firstChild.firstChild.colSpan = 4; }
    data.splits.forEach(function (sp) {
      append(body, [append(el("tr"), [el("td", null, sp.point), el("td", "num", km(sp.distance)), el("td", "num", duration(sp.time)), el("td", "num", sp.rank ? ordinal(sp.rank) : "–")])]);
    });
    var posts = $("ap-posts");
    posts.textContent = "";
    if (!data.posts.length) { posts.appendChild(el("li", "muted", "No posts yet.")); }
    data.posts.forEach(function (p) { panelPost(p, true); });
    drawCharts(data);
  }
  function panelPost(p, atEnd) {
    var posts = $("ap-posts");
    var empty = posts.querySelector(".muted");
    if (empty) { empty.remove(); }
    var li = append(el("li"), [el("time", null, clockTime(p.t)), " ", el("span", null, p.text)]);
    if (p.id != null) { li.dataset.post = p.id; }
    if (atEnd) { posts.appendChild(li); } else { posts.insertBefore(li, posts.firstChild); }
  }
  // uPlot is loaded when a panel first opens: the page itself does not wait for it.
  function loadUplot() {
    if (uplot) { return uplot; }
    uplot = new Promise(function (resolve, reject) {
      var css = el("link"); css.rel = "stylesheet"; css.href = cfg.uplot[1];
      document.head.appendChild(css);
      var script = el("script"); script.src = cfg.uplot[0]; script.async = true;
      script.onload = function () { resolve(window.uPlot); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
    return uplot;
  }
  function drawCharts(data) {
    loadUplot().then(function (UPlot) {
      if (panelId !== data.athlete.id) { return; }
      charts.forEach(function (c) { c.destroy(); });
      charts = [];
      var width = Math.max(240, $("ap-charts").clientWidth);
      var xs = data.points.map(function (p) { return p[1] / 1000; });
      // Every chart on the same axis: the whole course, so the three line up.
      var maxKm = data.distance ? data.distance / 1000 : Math.max.apply(null, xs.concat([1]));
      // `scale`: a fixed y axis (paceAxis), its values drawn within it; else uPlot's own.
      function chart(target, x, y, color, fmt, fill, scale) {
        var node = $(target);
        node.textContent = "";
        if (!y.some(function (v) { return v != null; })) { node.appendChild(el("p", "muted", "No data yet.")); return; }
        var yAxis = { values: function (u, vals) { return vals.map(fmt); }, size: axisWidth };
        var yScale = {};
        if (scale) {
          // Faster (fewer s/km) higher up, as runners read a pace chart.
          yScale = { auto: false, dir: -1, range: function () { return [scale.min, scale.max]; } };
          yAxis.splits = function () { return scale.splits; };
          y = y.map(scale.clamp);
        }
        charts.push(new UPlot({
          width: width, height: 110, legend: { show: false }, cursor: { show: true, drag: { x: false, y: false } },
          padding: [10, null, null, null], // the top tick's label whole, inside the canvas
          scales: { x: { time: false, range: [0, maxKm] }, y: yScale },
          axes: [
            { values: function (u, vals) { return vals.map(function (v) { return v + " km"; }); }, size: 28 },
            yAxis
          ],
          series: [{}, { stroke: color, width: 2, fill: fill || null, spanGaps: true }]
        }, [x, y], node));
      }
      var paces = data.points.map(function (p) { return p[2]; });
      var scale = paceAxis(paces, data.points.map(function (p) { return p[1]; }));
      chart("ap-chart-pace", xs, paces, "#e4572e", function (v) { return pace(v); }, null, scale);
      chart("ap-chart-hr", xs, data.points.map(function (p) { return p[3]; }), "#b3261e", function (v) { return Math.round(v); });
      var profile = data.profile.length ? data.profile : data.points.map(function (p) { return [p[1], p[4]]; });
      chart("ap-chart-ele", profile.map(function (p) { return p[0] / 1000; }), profile.map(function (p) { return p[1]; }), "#1d3557", function (v) { return Math.round(v) + " m"; }, "rgba(29,53,87,.12)");
    }).catch(function () { /* charts are extra: the facts and splits are there */ });
  }
  function shareUrl(a) {
    return location.origin + location.pathname + "?athlete=" + encodeURIComponent(a.bib || "");
  }
  function share(id) {
    var a = athlete(id), url = shareUrl(a);
    if (navigator.share) {
      navigator.share({ title: label(a) + " · " + cfg.event + " " + cfg.race, url: url }).catch(function () { /* dismissed */ });
      return;
    }
    var done = function () { toast("Link copied: " + url); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).then(done, function () { toast(url); });
    } else { toast(url); }
  }

  // --- posts and results -----------------------------------------------------------------------
  function addFeed(kind, a, text, t) {
    var feed = $("feed");
    var empty = feed.querySelector(".feed-empty");
    if (empty) { empty.remove(); }
    var li = append(el("li", "feed-" + kind), [
      append(el("div", "feed-meta"), [el("strong", null, label(a)), el("time", null, clockTime(t))]),
      el("p", null, text)
    ]);
    li.dataset.athlete = a.id;
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 100) { feed.removeChild(feed.lastChild); }
    if (kind === "post") {
      var count = $("feed-count");
      count.hidden = false;
      count.textContent = feed.querySelectorAll(".feed-post").length;
    }
    return li;
  }
  // Feed entries written before the roster came (the snapshot's posts) named their
  // athletes "Athlete N": their names, once known.
  function relabelFeed() {
    document.querySelectorAll("#feed li[data-athlete] .feed-meta strong").forEach(function (strong) {
      var a = athletes.get(Number(strong.closest("li").dataset.athlete));
      if (a) { strong.textContent = label(a); }
    });
  }
  function addPost(p) {
    var a = athlete(p.athlete);
    if (p.name && !a.named) { a.name = p.name; a.named = true; }
    var li = addFeed("post", a, p.text, p.t);
    if (p.id != null) { li.dataset.post = p.id; }
  }
  // Race control hid a post: off the feed and the athlete's panel at once.
  function removePost(id) {
    document.querySelectorAll('#feed [data-post="' + Number(id) + '"], #ap-posts [data-post="' + Number(id) + '"]')
      .forEach(function (li) { li.remove(); });
    var count = $("feed-count"), left = $("feed").querySelectorAll(".feed-post").length;
    count.textContent = left;
    count.hidden = !left;
  }
  function renderFeed(posts) {
    $("feed").textContent = "";
    posts.slice().reverse().forEach(addPost); // newest first on screen
    if (!posts.length) {
      $("feed").appendChild(el("li", "feed-empty muted", "No posts yet. Athletes' messages from the course appear here."));
      $("feed-count").hidden = true;
    }
  }

  // --- page events -----------------------------------------------------------------------------
  function boardRows() { return Array.prototype.slice.call(document.querySelectorAll("#board tbody tr[data-id]")); }
  function rowEvents(body) {
    body.addEventListener("click", function (ev) {
      var row = ev.target.closest("tr[data-id]");
      if (row) { activeRow = row; openPanel(Number(row.dataset.id), { opener: row }); }
    });
    body.addEventListener("keydown", function (ev) {
      var row = ev.target.closest("tr[data-id]");
      if (!row) { return; }
      var list = boardRows(), i = list.indexOf(row), next = null;
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); openPanel(Number(row.dataset.id), { opener: row }); return; }
      if (ev.key === "ArrowDown") { next = list[i + 1]; }
      else if (ev.key === "ArrowUp") { next = list[i - 1]; }
      else if (ev.key === "Home") { next = list[0]; }
      else if (ev.key === "End") { next = list[list.length - 1]; }
      else { return; }
      ev.preventDefault();
      if (next) { row.tabIndex = -1; next.tabIndex = 0; activeRow = next; next.focus(); }
    });
  }
  rowEvents($("board-pinned"));
  rowEvents($("board-body"));
  $("board-more").addEventListener("click", function () { boardLimit += BOARD_STEP; queueRender(); });
  $("board-counts").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-status]");
    if (b) { filters.status = filters.status === b.dataset.status ? "" : b.dataset.status; boardLimit = BOARD_STEP; queueRender(); }
  });
  $("board-search").addEventListener("input", function (ev) { filters.q = C.folded(ev.target.value.trim()); boardLimit = BOARD_STEP; queueRender(); });
  $("board-category").addEventListener("change", function (ev) { filters.cat = ev.target.value; queueRender(); });
  $("board-sex").addEventListener("change", function (ev) { filters.sex = ev.target.value; queueRender(); });
  $("follow-list").addEventListener("click", function (ev) {
    var btn = ev.target.closest("button");
    if (!btn) { return; }
    if (btn.dataset.open) { openPanel(Number(btn.dataset.open), { opener: btn }); return; }
    var id = Number(btn.dataset.id);
    if (btn.classList.contains("kudos")) { kudos(id); } else { toggleFollow(id); }
  });
  $("ap-close").addEventListener("click", closePanel);
  $("ap-follow").addEventListener("click", function () { if (panelId != null) { toggleFollow(panelId); } });
  $("ap-kudos").addEventListener("click", function () { if (panelId != null) { kudos(panelId); } });
  $("ap-share").addEventListener("click", function () { if (panelId != null) { share(panelId); } });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && panelId != null) { closePanel(); }
  });
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".live-tabs [role=tab]"));
  function showView(name, focus) {
    $("live-body").dataset.view = name;
    tabs.forEach(function (t) {
      var on = t.dataset.tab === name;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      if (on && focus) { t.focus(); }
    });
    $("panel-board").hidden = name === "feed";
    $("panel-feed").hidden = name !== "feed";
    if (name === "map" && !map) { loadMap(); }
    if (name === "map" && map) { setTimeout(function () { map.invalidateSize(); fitMap(); queueRender(); }, 0); }
  }
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () { showView(tab.dataset.tab); });
    tab.addEventListener("keydown", function (ev) {
      var shown = tabs.filter(function (t) { return t.offsetParent !== null; });
      var i = shown.indexOf(tab);
      var next = ev.key === "ArrowRight" ? shown[(i + 1) % shown.length] : ev.key === "ArrowLeft" ? shown[(i - 1 + shown.length) % shown.length] : null;
      if (next) { ev.preventDefault(); showView(next.dataset.tab, true); }
    });
  });
  function tickClock() {
    var elapsed = now() - cfg.start;
    var done = over();
    if (done) { showOver(); }
    $("live-clock").textContent = done ? "Over" : elapsed < 0 ? "starts in " + duration(-elapsed) : duration(elapsed);
    checkStale();
  }
  tickClock();
  setInterval(tickClock, 1000);

  // ?athlete=BIB: the page opens on that athlete (followed, panel open, map centred), as
  // soon as it is known: a leader is in the snapshot, anyone else in the roster.
  function focusShared() {
    var bib = sharedBib;
    if (!bib) { return; }
    var a = byBib.get(bib);
    if (!a) {
      if (rosterLoaded) { sharedBib = null; toast("No athlete with bib " + bib + " in this race."); }
      return;
    }
    sharedBib = null;
    if (!isFollowed(a.id) && follows.length < MAX_FOLLOWS) {
      follows.push(a.id);
      saveFollows();
      if (ws && ws.readyState === WebSocket.OPEN) { sendFollow(); } // its state, every tick
    }
    centerOn = a.id;
    openPanel(a.id, { noFocus: false });
  }

  var sharedBib = new URLSearchParams(location.search).get("athlete");
  // The fetches first: their requests leave before the snapshot already received is drawn.
  loadField();
  loadRoster();
  connect();
  // Nothing live within a few seconds (no race yet, a socket refused): the map anyway.
  setTimeout(loadMap, 4000);
  queueRender();
})();
