// Replay page: a race replayed from its stored positions (tracking/web/replaydata.py).
// One fetch brings every athlete's track: a sample every `step` seconds, delta-encoded
// (tracking/web/trackcodec.py). The time slider, play/pause and the speed move a
// replayed time; the map and the board follow it.
(function () {
  "use strict";
  var C = window.PaceCommon, el = C.el, two = C.two;
  var cfg = JSON.parse(document.getElementById("replay-config").textContent);
  var COORD = 100000;
  var BOARD_ROWS = 100;
  var FINISH_SLACK = 25; // metres short of the course's end that count as finished

  var root = $("replay");
  var slider = $("replay-time");
  var playButton = $("replay-play");
  var speedSelect = $("replay-speed");
  var state = { t: 0, end: 0, playing: false, speed: Number(speedSelect.value), selected: null, search: "" };
  var data = null; // { t0, step, tracks: [...], byId: Map }
  var markers = new Map();
  var lastDraw = 0, lastBoard = 0, lastFrame = 0;

  function $(id) { return document.getElementById(id); }
  // common.js's rule (the live page's), always with hours on the slider's clock.
  function duration(s) { return C.duration(s, true); }
  var hms;
  try {
    hms = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: cfg.timezone });
  } catch (e) {
    hms = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }
  function setStatus(text, kind) {
    var badge = $("replay-status");
    badge.textContent = text;
    root.setAttribute("data-state", kind);
  }

  // --- decoding (the inverse of trackcodec.encode_track) ----------------------------
  function undelta(values, scale) {
    var out = new Float64Array(values.length), sum = 0;
    for (var i = 0; i < values.length; i++) { sum += values[i]; out[i] = sum / scale; }
    return out;
  }
  function decode(doc) {
    var names = new Map();
    doc.athletes.forEach(function (a) { names.set(a[0], { bib: a[1], name: a[2] }); });
    var length = doc.race.distance || 0;
    var tracks = doc.tracks.map(function (row) {
      var who = names.get(row[0]) || { bib: "", name: "Athlete " + row[0] };
      var track = {
        id: row[0], bib: who.bib, name: who.name, first: row[1],
        dist: undelta(row[2], 1), lat: undelta(row[3], COORD), lon: undelta(row[4], COORD),
        finishAt: null, at: { distance: 0, lat: null, lon: null, started: false }
      };
      if (length) { // the first moment its distance reaches the finish, between two samples
        var d = track.dist, goal = length - FINISH_SLACK;
        for (var i = 0; i < d.length; i++) {
          if (d[i] >= goal) {
            var f = i > 0 && d[i] > d[i - 1] ? (goal - d[i - 1]) / (d[i] - d[i - 1]) : 0;
            track.finishAt = (track.first + i - 1 + (i > 0 ? f : 1)) * doc.step;
            break;
          }
        }
      }
      return track;
    });
    var byId = new Map();
    tracks.forEach(function (tr) { byId.set(tr.id, tr); });
    return { t0: doc.t0, step: doc.step, end: doc.end, tracks: tracks, byId: byId, athletes: doc.athletes.length };
  }

  // Where a track is at replayed time t (seconds after t0): between its two samples.
  function locate(track, t) {
    var x = t / data.step - track.first, n = track.dist.length, at = track.at;
    if (x < 0) { at.started = false; at.distance = 0; at.lat = null; at.lon = null; return at; }
    at.started = true;
    if (x >= n - 1) {
      at.distance = track.dist[n - 1]; at.lat = track.lat[n - 1]; at.lon = track.lon[n - 1];
      return at;
    }
    var i = Math.floor(x), f = x - i;
    at.distance = track.dist[i] + f * (track.dist[i + 1] - track.dist[i]);
    at.lat = track.lat[i] + f * (track.lat[i + 1] - track.lat[i]);
    at.lon = track.lon[i] + f * (track.lon[i + 1] - track.lon[i]);
    return at;
  }
  function finished(track, t) { return track.finishAt != null && track.finishAt <= t; }

  // --- map ---------------------------------------------------------------------------
  var map = C.baseMap("replay-map", { zoomControl: true, preferCanvas: false, keyboard: false }, cfg.tiles);
  var renderer = null; // canvas for big races (thousands of SVG nodes are slow to move)
  if (cfg.course_url) {
    C.fetchCourse(cfg.course_url)
      .then(function (feature) {
        var latlngs = C.courseLatLngs(feature);
        L.polyline(latlngs, { color: "#1d3557", weight: 7, opacity: 0.25, interactive: false }).addTo(map);
        var line = L.polyline(latlngs, { color: "#e4572e", weight: 3.5, className: "course-line", interactive: false }).addTo(map);
        map.fitBounds(line.getBounds(), { padding: [24, 24] });
      })
      .catch(function () { /* the athletes still show */ });
  }
  function markerStyle(track, rank, t) {
    var chosen = state.selected === track.id;
    var color = finished(track, t) ? "#2a9d8f" : rank === 1 ? "#f2b705" : "#e4572e";
    return { radius: chosen ? 9 : 5, color: chosen ? "#14213d" : "#fff", weight: chosen ? 3 : 1, fillColor: color, fillOpacity: 0.95 };
  }
  function drawMap(t, ranks) {
    data.tracks.forEach(function (track) {
      var at = track.at, m = markers.get(track.id);
      if (at.lat == null) {
        if (m) { m.remove(); markers.delete(track.id); }
        return;
      }
      var style = markerStyle(track, ranks.get(track.id), t);
      if (!m) {
        var options = Object.assign({ className: "athlete-marker", renderer: renderer || undefined }, style);
        m = L.circleMarker([at.lat, at.lon], options);
        m.on("click", function () { select(track.id, false); });
        m.bindTooltip(el("span", null, (track.bib ? "#" + track.bib + " " : "") + track.name), { direction: "top", offset: [0, -6] });
        C.outOfTabOrder(m.addTo(map));
        markers.set(track.id, m);
      } else {
        m.setLatLng([at.lat, at.lon]);
        m.setStyle(style);
      }
      if (state.selected === track.id) { m.bringToFront(); }
    });
  }

  // --- board -------------------------------------------------------------------------
  // Finished athletes first by finish time, then everyone on course by distance.
  function standings(t) {
    var list = data.tracks.filter(function (tr) { return tr.at.started; });
    list.sort(function (a, b) {
      var fa = finished(a, t), fb = finished(b, t);
      if (fa && fb) { return a.finishAt - b.finishAt; }
      if (fa !== fb) { return fa ? -1 : 1; }
      return b.at.distance - a.at.distance;
    });
    return list;
  }
  function matches(track) {
    if (!state.search) { return true; }
    // Folded once per track: the board is drawn every frame while the replay plays.
    if (track.foldedName == null) { track.foldedBib = C.folded(track.bib); track.foldedName = C.folded(track.name); }
    var q = state.search;
    return track.foldedBib === q || track.foldedName.indexOf(q) >= 0;
  }
  function row(track, rank, t) {
    var tr = el("tr");
    tr.setAttribute("data-id", track.id);
    tr.tabIndex = 0;
    if (state.selected === track.id) { tr.className = "selected"; tr.setAttribute("aria-current", "true"); }
    var done = finished(track, t);
    var who = el("td", "who");
    if (track.bib) { who.appendChild(el("span", "bib", track.bib)); }
    who.appendChild(document.createTextNode(track.name));
    [
      el("td", "num rank", rank), who,
      el("td", "num", (track.at.distance / 1000).toFixed(2)),
      el("td", "num" + (done ? " fin" : ""), done ? duration(track.finishAt) : "")
    ].forEach(function (td) { tr.appendChild(td); });
    return tr;
  }
  function drawBoard(t, list) {
    var body = $("replay-body");
    var shown = [];
    for (var i = 0; i < list.length && shown.length < BOARD_ROWS; i++) {
      if (matches(list[i])) { shown.push([list[i], i + 1]); }
    }
    if (state.selected != null && !shown.some(function (s) { return s[0].id === state.selected; })) {
      var idx = list.findIndex(function (tr) { return tr.id === state.selected; });
      if (idx >= 0) { shown.push([list[idx], idx + 1]); }
    }
    var focusedId = document.activeElement && document.activeElement.getAttribute("data-id");
    var fragment = document.createDocumentFragment();
    shown.forEach(function (s) { fragment.appendChild(row(s[0], s[1], t)); });
    if (!shown.length) {
      var empty = el("tr", "rp-empty");
      var td = el("td", null, state.search ? "No athlete matches." : "Nobody has started yet at this time.");
      td.colSpan = 4;
      empty.appendChild(td);
      fragment.appendChild(empty);
    }
    body.replaceChildren(fragment);
    if (focusedId) { // a keyboard user stays on their row as the board moves
      var again = body.querySelector('tr[data-id="' + focusedId + '"]');
      if (again) { again.focus({ preventScroll: true }); }
    }
    var done = list.filter(function (tr) { return finished(tr, t); }).length;
    $("replay-count").textContent = String(list.length - done);
    $("replay-finished").textContent = String(done);
  }

  // --- time --------------------------------------------------------------------------
  function render(force) {
    var t = state.t, now = performance.now();
    data.tracks.forEach(function (track) { locate(track, t); });
    $("replay-elapsed").textContent = duration(t);
    $("replay-clock").textContent = hms.format(new Date((data.t0 + t) * 1000));
    slider.value = String(Math.round(t));
    slider.setAttribute("aria-valuetext", duration(t) + " after the start");
    root.setAttribute("data-t", String(Math.round(t)));
    var big = data.tracks.length > 1500;
    if (!force && now - lastDraw < (big ? 200 : 60)) { return; }
    lastDraw = now;
    var list = standings(t);
    var ranks = new Map();
    list.forEach(function (tr, i) { ranks.set(tr.id, i + 1); });
    drawMap(t, ranks);
    if (force || now - lastBoard > 400) {
      lastBoard = now;
      drawBoard(t, list);
    }
  }
  function seek(t) {
    state.t = Math.max(0, Math.min(state.end, t));
    render(true);
  }
  function setPlaying(playing) {
    state.playing = playing && state.t < state.end;
    playButton.textContent = state.playing ? "Pause" : "Play";
    playButton.setAttribute("aria-pressed", String(state.playing));
    if (state.playing) { lastFrame = performance.now(); requestAnimationFrame(frame); }
  }
  function frame(now) {
    if (!state.playing) { return; }
    var elapsed = Math.min(1, (now - lastFrame) / 1000);
    lastFrame = now;
    state.t = Math.min(state.end, state.t + elapsed * state.speed);
    render(false);
    if (state.t >= state.end) { setPlaying(false); render(true); return; }
    requestAnimationFrame(frame);
  }
  function select(id, fromBoard) {
    state.selected = state.selected === id && !fromBoard ? null : id;
    var track = data.byId.get(id);
    render(true);
    if (track && track.at.lat != null && state.selected === id) {
      var where = L.latLng(track.at.lat, track.at.lon);
      if (!map.getBounds().pad(-0.1).contains(where)) { map.panTo(where); }
      var m = markers.get(id);
      if (m) { m.openTooltip(); }
      $("replay-announce").textContent = track.name + " selected";
    }
  }

  playButton.addEventListener("click", function () {
    if (!state.playing && state.t >= state.end) { seek(0); }
    setPlaying(!state.playing);
  });
  slider.addEventListener("input", function () { seek(Number(slider.value)); });
  speedSelect.addEventListener("change", function () { state.speed = Number(speedSelect.value); });
  $("replay-search").addEventListener("input", function (e) {
    state.search = C.folded(e.target.value.trim());
    if (data) { render(true); }
  });
  var body = $("replay-body");
  body.addEventListener("click", function (e) {
    var tr = e.target.closest("tr[data-id]");
    if (tr) { select(Number(tr.getAttribute("data-id")), true); }
  });
  body.addEventListener("keydown", function (e) {
    var tr = e.target.closest("tr[data-id]");
    if (!tr) { return; }
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      select(Number(tr.getAttribute("data-id")), true);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      var next = e.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
      if (next && next.tabIndex === 0) { next.focus(); }
    }
  });

  // --- load --------------------------------------------------------------------------
  // A big race's replay is built on the server off the request: until it is there the
  // data answers 202 with how far the build is; the page says so and asks again.
  function load() {
    return fetch(cfg.data, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 202) {
        return r.json().then(function (p) {
          var pct = p.of ? Math.floor(100 * p.done / p.of) : 0;
          setStatus("Preparing the replay… " + pct + " %", "preparing");
          root.setAttribute("data-progress", String(pct));
          var wait = Number(r.headers.get("Retry-After")) || 2;
          return new Promise(function (ok) { setTimeout(ok, wait * 1000); }).then(load);
        });
      }
      if (!r.ok) { throw new Error("replay " + r.status); }
      return r.json();
    });
  }
  load()
    .then(function (doc) {
      data = decode(doc);
      if (data.tracks.length > 1500) { renderer = L.canvas({ padding: 0.2 }); }
      state.end = Math.max(0, (data.end - 1) * data.step);
      slider.max = String(state.end);
      slider.disabled = false;
      playButton.disabled = false;
      var wanted = new URLSearchParams(location.search).get("athlete");
      if (wanted) {
        var found = data.tracks.find(function (tr) { return String(tr.bib) === wanted; });
        if (found) { state.selected = found.id; }
      }
      if (!data.tracks.length) {
        setStatus("No positions", "empty");
        var none = el("td", null, "No athlete was tracked in this race.");
        none.colSpan = 4;
        $("replay-body").replaceChildren(el("tr", "rp-empty"));
        $("replay-body").firstChild.appendChild(none);
        return;
      }
      setStatus("Replay", "ready");
      seek(0);
    })
    .catch(function () { setStatus("Not available", "error"); });
})();
