// Race control: every athlete on a map (the race's live stream, /ws/live/RACE_ID/, with
// the whole field every second), the alerts and SOS calls of /ws/control/RACE_ID/, and
// the organizer's actions (POSTs to cfg.act with the CSRF token, answered in JSON).
// Names, bibs, posts and messages are typed by people: they reach the page as text only.
(function () {
  "use strict";
  var C = window.PaceCommon, el = C.el;
  var cfg = JSON.parse(document.getElementById("control-config").textContent);
  var KINDS = ["off_course", "missed_checkpoint", "stopped", "lost_signal"];
  var STATUS = {
    not_started: "Not started", racing: "Racing", stopped: "Stopped", finished: "Finished",
    dnf: "DNF", lost_signal: "No signal"
  };
  var athletes = new Map();
  cfg.roster.forEach(function (r) {
    athletes.set(r[0], { id: r[0], bib: r[1], name: r[2], category: r[3], contact: r[4], phone: r[5],
      lat: null, lon: null, distance: 0, status: "not_started", state: null, passed: {} });
  });
  var withdrawn = new Set(cfg.withdrawn);
  var alerts = [];
  var sos = new Map();
  var crewId = null;
  var splits = [];
  var clockOffset = 0;
  var csrf = document.querySelector("#message-form [name=csrfmiddlewaretoken]").value;

  // --- helpers ---------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function who(a) { return (a.bib ? a.bib + " · " : "") + a.name; }
  var timeFormat = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone: cfg.timezone || undefined });
  function clockTime(t) { return t == null ? "–" : timeFormat.format(new Date(t * 1000)); }
  function now() { return Date.now() / 1000 + clockOffset; }
  function ago(t) {
    if (t == null) { return "no fix yet"; }
    var s = Math.max(0, Math.round(now() - t));
    return s < 60 ? s + " s ago" : s < 3600 ? Math.floor(s / 60) + " min ago" : Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min ago";
  }
  var toastTimer = null;
  function toast(text) {
    var t = $("rc-toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, 4000);
  }
  function phoneLink(a) {
    if (!a.phone || a.phone === "-") { return el("span", "muted", "no phone in the entry"); }
    var link = el("a", "tel", a.phone);
    link.href = "tel:" + a.phone.replace(/[^+\d]/g, "");
    link.title = "Emergency contact" + (a.contact ? ": " + a.contact : "");
    return link;
  }

  // --- actions ---------------------------------------------------------------------------
  function act(data) {
    var body = new URLSearchParams(data);
    return fetch(cfg.act, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      return r.json().catch(function () { return { error: "The server answered " + r.status + "." }; });
    }).then(function (answer) {
      if (answer.error) { toast(answer.error); throw new Error(answer.error); }
      return answer;
    });
  }
  function markDnf(id) {
    var a = athletes.get(id);
    if (!a || withdrawn.has(id)) { return; }
    var reason = window.prompt("Mark " + who(a) + " DNF? Reason (optional):", "");
    if (reason === null) { return; }
    act({ action: "dnf", athlete: id, reason: reason }).then(function () {
      withdrawn.add(id);
      toast(who(a) + " marked DNF.");
      renderAlerts();
      renderCrew();
    }).catch(function () {});
  }
  function messageTo(id) {
    showTab("messages");
    $("message-to").value = String(id);
    $("message-text").focus();
  }
  $("message-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var to = $("message-to").value;
    var text = $("message-text").value;
    act({ action: "message", athlete: to, text: text }).then(function () {
      var a = to ? athletes.get(Number(to)) : null;
      var li = el("li", null);
      li.append(el("strong", null, a ? "To " + who(a) : "To every athlete"), el("span", "muted", " · " + clockTime(now())));
      li.append(el("p", null, text));
      $("sent-list").prepend(li);
      $("message-text").value = "";
      toast("Message sent.");
    }).catch(function () {});
  });

  // --- map -------------------------------------------------------------------------------
  var map = C.baseMap("rc-map", { zoomControl: true, preferCanvas: cfg.roster.length > 1500 }, cfg.tiles);
  var markers = new Map();
  var fitted = false;
  if (cfg.course_url) {
    C.fetchCourse(cfg.course_url)
      .then(drawCourse)
      .catch(function () { toast("The course could not be loaded."); });
  }
  function drawCourse(feature) {
    var latlngs = C.courseLatLngs(feature);
    var line = L.polyline(latlngs, { color: "#e4572e", weight: 3.5, className: "course-line", interactive: false }).addTo(map);
    splits = (feature.properties.split_points || []).filter(function (sp) { return sp.distance > 0; });
    splits.forEach(function (sp) {
      C.outOfTabOrder(L.circleMarker([sp.lat, sp.lon], { radius: 4, color: "#1d3557", weight: 2, fillColor: "#fff", fillOpacity: 1 })
        .bindTooltip(el("span", null, sp.name + " · " + (sp.distance / 1000).toFixed(1) + " km"))
        .addTo(map));
    });
    // As the engine: the finish is the race's official distance, splits are those before it.
    var finish = cfg.distance || feature.properties.distance;
    if (finish) {
      splits = splits.filter(function (sp) { return !/^finish$/i.test(sp.name) && sp.distance < finish - 30; });
      splits.push({ name: "Finish", distance: finish });
    }
    map.fitBounds(line.getBounds(), { padding: [24, 24] });
    fitted = true;
    renderCrew();
  }
  function alertKinds(id) {
    var kinds = [];
    alerts.forEach(function (al) { if (al.athlete === id) { kinds.push(al.kind); } });
    return kinds;
  }
  function sosOpen(id) {
    var found = false;
    sos.forEach(function (call) { if (call.registration === id) { found = true; } });
    return found;
  }
  function markerStyle(a) {
    var color = "#e4572e";
    if (a.status === "finished") { color = "#2a9d8f"; }
    if (a.status === "lost_signal" || a.status === "dnf" || withdrawn.has(a.id)) { color = "#8d99ae"; }
    var alert = alertKinds(a.id).length > 0;
    if (alert) { color = "#f2b705"; }
    var sosNow = sosOpen(a.id);
    if (sosNow) { color = "#c1121f"; }
    var chosen = a.id === crewId;
    return { radius: sosNow ? 10 : chosen || alert ? 8 : 5, color: chosen ? "#14213d" : "#fff",
      weight: chosen ? 3 : 1.5, fillColor: color, fillOpacity: 0.95 };
  }
  function placeMarker(a) {
    if (a.lat == null || a.lon == null) { return; }
    var m = markers.get(a.id);
    if (!m) {
      m = L.circleMarker([a.lat, a.lon], Object.assign({ className: "athlete-marker" }, markerStyle(a)));
      m.bindTooltip(el("span", null, who(a)));
      m.on("click", function () { chooseCrew(a.id); });
      C.outOfTabOrder(m.addTo(map));
      markers.set(a.id, m);
    } else {
      m.setLatLng([a.lat, a.lon]);
      m.setStyle(markerStyle(a));
    }
    m.getElement && m.getElement() && m.getElement().setAttribute("data-id", a.id);
  }
  function restyle() { athletes.forEach(function (a) { var m = markers.get(a.id); if (m) { m.setStyle(markerStyle(a)); } }); }
  function centre(lat, lon, id) {
    if (lat == null || lon == null) { toast("No position known."); return; }
    map.setView([lat, lon], Math.max(map.getZoom(), 15));
    var m = id != null && markers.get(id);
    if (m) { m.openTooltip(); }
    $("rc-map").scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  // --- the live stream (map, crew view, posts) -----------------------------------------
  var liveWs = null;
  var liveAttempt = 0;
  function applyCompact(e) {
    var a = athletes.get(e[0]);
    if (!a) { return; }
    a.lat = e[1]; a.lon = e[2]; a.distance = e[3]; a.status = e[4];
    placeMarker(a);
  }
  function applyState(s) {
    var a = athletes.get(s.id);
    if (!a) { return; }
    a.state = s; a.lat = s.lat; a.lon = s.lon; a.distance = s.distance; a.status = s.status;
    placeMarker(a);
  }
  var liveHandlers = {
    snapshot: function (f) {
      if (f.t) { clockOffset = f.t - Date.now() / 1000; }
      (f.field || []).forEach(applyCompact);
      (f.athletes || []).forEach(applyState);
      (f.posts || []).forEach(addPost);
      if (!fitted && markers.size) {
        map.fitBounds(L.featureGroup(Array.from(markers.values())).getBounds(), { padding: [24, 24], maxZoom: 15 });
        fitted = true;
      }
      badge("rc-live", "live", "Map: live");
      renderCrew();
    },
    tick: function (f) {
      if (f.t) { clockOffset = f.t - Date.now() / 1000; }
      (f.athletes || []).forEach(applyState);
      renderCrew();
    },
    field: function (f) { (f.field || []).forEach(applyCompact); },
    result: function (f) {
      var a = athletes.get(f.athlete);
      if (a) { a.passed[f.point] = f.time; if (f.athlete === crewId) { renderCrew(); } }
    },
    post: function (f) { addPost(f); },
    posts: function (f) { $("post-list").replaceChildren(); (f.posts || []).forEach(addPost); }
  };
  function connectLive() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = liveWs = new WebSocket(scheme + location.host + cfg.ws_live);
    ws.onopen = function () {
      liveAttempt = 0;
      // An organizer's screen takes the whole field every second (PROTOCOL.md §3).
      ws.send(JSON.stringify({ type: "field", interval: 1 }));
      if (crewId != null) { ws.send(JSON.stringify({ type: "follow", athletes: [crewId] })); }
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (liveHandlers[f.type]) { liveHandlers[f.type](f); }
    };
    ws.onclose = function () {
      liveWs = null;
      liveAttempt += 1;
      var delay = Math.min(30, Math.pow(2, liveAttempt - 1)) * (0.5 + Math.random() / 2);
      badge("rc-live", "off", "Map: offline");
      setTimeout(connectLive, delay * 1000);
    };
  }
  function badge(id, state, text) { var b = $(id); b.dataset.state = state; b.textContent = text; }

  // --- the control socket (alerts, SOS) --------------------------------------------------
  var controlAttempt = 0;
  var controlHandlers = {
    snapshot: function (f) {
      alerts = f.alerts || [];
      sos.clear();
      (f.sos || []).forEach(function (call) { sos.set(call.id, call); });
      (f.withdrawn || []).forEach(function (id) { withdrawn.add(id); });
      badge("rc-control", "live", "Alerts: live");
      renderAlerts(); renderSos(); restyle();
    },
    alerts: function (f) { alerts = f.alerts || []; renderAlerts(); restyle(); },
    sos: function (f) {
      sos.set(f.id, f);
      renderSos(); restyle(); ring();
      var a = athletes.get(f.registration);
      toast("SOS from " + (a ? who(a) : "an athlete") + "!");
    },
    sos_ack: function (f) { sos.delete(f.id); renderSos(); restyle(); },
    withdrawn: function (f) { withdrawn.add(f.athlete); renderAlerts(); renderCrew(); restyle(); }
  };
  function connectControl() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + cfg.ws_control);
    ws.onopen = function () { controlAttempt = 0; };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (controlHandlers[f.type]) { controlHandlers[f.type](f); }
    };
    ws.onclose = function (ev) {
      if (ev.code === 4403) { badge("rc-control", "off", "Alerts: not allowed"); return; }
      controlAttempt += 1;
      var delay = Math.min(30, Math.pow(2, controlAttempt - 1)) * (0.5 + Math.random() / 2);
      badge("rc-control", "off", "Alerts: offline");
      setTimeout(connectControl, delay * 1000);
    };
  }

  // --- rendering ---------------------------------------------------------------------------
  function rowActions(a, lat, lon) {
    var box = el("div", "rc-row-actions");
    var show = el("button", "b-map", "Map");
    show.type = "button";
    show.addEventListener("click", function () { centre(lat, lon, a.id); });
    var crew = el("button", "b-crew", "Crew");
    crew.type = "button";
    crew.addEventListener("click", function () { chooseCrew(a.id); showTab("crew"); });
    var msg = el("button", "b-msg", "Message");
    msg.type = "button";
    msg.addEventListener("click", function () { messageTo(a.id); });
    box.append(show, crew, msg);
    if (!withdrawn.has(a.id)) {
      var dnf = el("button", "b-dnf danger", "DNF");
      dnf.type = "button";
      dnf.addEventListener("click", function () { markDnf(a.id); });
      box.append(dnf);
    } else {
      box.append(el("span", "tag-dnf", "DNF"));
    }
    return box;
  }
  function renderAlerts() {
    var counts = {};
    KINDS.forEach(function (kind) { counts[kind] = 0; $("list-" + kind).replaceChildren(); });
    alerts.forEach(function (al) {
      var list = $("list-" + al.kind);
      var a = athletes.get(al.athlete) || { id: al.athlete, bib: al.bib, name: al.name };
      if (!list) { return; }
      counts[al.kind] += 1;
      var li = el("li", "rc-alert");
      li.dataset.athlete = al.athlete;
      var head = el("div", "rc-who");
      head.append(el("strong", null, who(a)), el("span", "rc-detail", al.detail));
      var facts = el("div", "rc-facts");
      facts.append(el("span", null, "Last fix " + clockTime(al.t) + " (" + ago(al.t) + ")"),
        el("span", null, (al.distance / 1000).toFixed(1) + " km"), phoneLink(a));
      li.append(head, facts, rowActions(a, al.lat, al.lon));
      list.append(li);
    });
    KINDS.forEach(function (kind) {
      $("n-" + kind).textContent = counts[kind];
      $("count-" + kind).textContent = counts[kind];
      if (!counts[kind]) { $("list-" + kind).append(el("li", "empty muted", "None")); }
    });
  }
  function renderSos() {
    var list = $("sos-list");
    list.replaceChildren();
    var calls = Array.from(sos.values()).sort(function (x, y) { return y.t - x.t; });
    calls.forEach(function (call) {
      var a = athletes.get(call.registration) || { id: call.registration, bib: call.bib, name: call.name };
      var li = el("li", "rc-sos-call");
      li.dataset.sos = call.id;
      var head = el("div", "rc-who");
      head.append(el("strong", null, who(a)), el("span", "rc-detail", call.text ? "“" + call.text + "”" : "no message"));
      var facts = el("div", "rc-facts");
      facts.append(el("span", null, "Pressed " + clockTime(call.t) + " (" + ago(call.t) + ")"),
        el("span", null, call.lat != null ? call.lat.toFixed(5) + ", " + call.lon.toFixed(5) : "position unknown"),
        phoneLink(a));
      var actions = rowActions(a, call.lat, call.lon);
      var ack = el("button", "b-ack", "Acknowledge");
      ack.type = "button";
      ack.addEventListener("click", function () {
        act({ action: "ack", sos: call.id }).then(function () { sos.delete(call.id); renderSos(); restyle(); }).catch(function () {});
      });
      actions.prepend(ack);
      li.append(head, facts, actions);
      list.append(li);
    });
    $("sos-panel").hidden = calls.length === 0;
    $("count-sos").textContent = calls.length;
    document.title = (calls.length ? "(" + calls.length + " SOS) " : "") + document.title.replace(/^\(\d+ SOS\) /, "");
    document.body.classList.toggle("rc-alarm", calls.length > 0);
  }

  // SOS sound: browsers allow it only after the page was touched, hence the button.
  var audio = null;
  $("sound-on").addEventListener("click", function () {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { toast("This browser cannot play the alarm."); return; }
    audio = audio || new Ctx();
    audio.resume();
    $("sound-on").textContent = "Sound on";
    $("sound-on").disabled = true;
  });
  document.addEventListener("click", function () {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
      $("sound-on").textContent = "Sound on";
      $("sound-on").disabled = true;
    }
  }, { once: true });
  function ring() {
    if (!audio) { return; }
    [0, 0.35, 0.7].forEach(function (at) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + at);
      osc.stop(audio.currentTime + at + 0.22);
    });
  }

  // --- posts -------------------------------------------------------------------------------
  function addPost(p) {
    var list = $("post-list");
    var empty = list.querySelector(".empty");
    if (empty) { empty.remove(); }
    if (p.id != null && list.querySelector('[data-post="' + p.id + '"]')) { return; }
    var li = el("li", null);
    if (p.id != null) { li.dataset.post = p.id; }
    var head = el("div", "rc-who");
    head.append(el("strong", null, p.name), el("span", "muted", " · " + clockTime(p.t)));
    li.append(head, el("p", null, p.text));
    if (p.id != null) {
      var hide = el("button", "b-hide danger", "Hide from spectators");
      hide.type = "button";
      hide.addEventListener("click", function () {
        act({ action: "hide", post: p.id }).then(function () { li.remove(); toast("Post hidden."); }).catch(function () {});
      });
      li.append(hide);
    }
    list.prepend(li);
    while (list.children.length > 50) { list.lastChild.remove(); }
  }

  // --- crew view: ETA at every split ---------------------------------------------------------
  var datalist = $("crew-roster");
  var toSelect = $("message-to");
  athletes.forEach(function (a) {
    var o = el("option");
    o.value = who(a);
    datalist.append(o);
    var s = el("option", null, who(a));
    s.value = String(a.id);
    toSelect.append(s);
  });
  $("crew-search").addEventListener("change", function () {
    var typed = C.folded(this.value.trim());
    var found = null;
    athletes.forEach(function (a) {
      if (found) { return; }
      if (C.folded(who(a)) === typed || (a.bib && C.folded(a.bib) === typed)) { found = a; }
    });
    if (!found) {
      athletes.forEach(function (a) { if (!found && C.folded(a.name).indexOf(typed) >= 0) { found = a; } });
    }
    if (found) { chooseCrew(found.id); } else { toast("No athlete matches “" + this.value + "”."); }
  });
  function chooseCrew(id) {
    crewId = id;
    if (liveWs && liveWs.readyState === WebSocket.OPEN) {
      liveWs.send(JSON.stringify({ type: "follow", athletes: [id] }));
    }
    var a = athletes.get(id);
    if (a) { $("crew-search").value = who(a); }
    restyle();
    renderCrew();
  }
  // The engine's own projection (tracking.live.engine._eta): the mean of the current and
  // the average speed, from the last fix, for every split still ahead.
  function projectedSpeed(s) {
    var elapsed = s.t - cfg.start;
    var average = elapsed > 0 ? s.distance / elapsed : 0;
    return (s.speed + average) / 2;
  }
  function renderCrew() {
    var a = crewId != null && athletes.get(crewId);
    $("crew-card").hidden = !a;
    if (!a) { return; }
    var s = a.state;
    $("crew-name").textContent = who(a);
    var status = withdrawn.has(a.id) ? "DNF (race control)" : STATUS[a.status] || a.status;
    var facts = [status, (a.distance / 1000).toFixed(2) + " km"];
    if (s && s.pace) { facts.push(Math.floor(s.pace / 60) + ":" + String(s.pace % 60).padStart(2, "0") + " /km"); }
    if (s && s.rank) { facts.push("rank " + s.rank); }
    if (s) { facts.push("last fix " + clockTime(s.t) + " (" + ago(s.t) + ")"); }
    $("crew-facts").textContent = facts.join(" · ");
    var contact = $("crew-contact");
    contact.replaceChildren(el("span", null, "Emergency contact: " + (a.contact || "–") + " "), phoneLink(a));
    var body = $("crew-splits");
    body.replaceChildren();
    var speed = s && s.t != null && (s.status === "racing" || s.status === "stopped") ? projectedSpeed(s) : 0;
    splits.forEach(function (sp) {
      var tr = el("tr");
      var when;
      if (a.passed[sp.name] != null) { when = "passed " + clockTime(a.passed[sp.name]); }
      else if (a.distance >= sp.distance) { when = "passed"; }
      else if (speed >= 0.3) { when = clockTime(s.t + (sp.distance - a.distance) / speed); }
      else { when = "–"; }
      tr.append(el("td", null, sp.name), el("td", "num", (sp.distance / 1000).toFixed(1)), el("td", "eta", when));
      body.append(tr);
    });
    $("crew-dnf").disabled = withdrawn.has(a.id);
  }
  $("crew-center").addEventListener("click", function () {
    var a = athletes.get(crewId);
    if (a) { centre(a.lat, a.lon, a.id); }
  });
  $("crew-message").addEventListener("click", function () { if (crewId != null) { messageTo(crewId); } });
  $("crew-dnf").addEventListener("click", function () { if (crewId != null) { markDnf(crewId); } });

  // --- tabs ----------------------------------------------------------------------------------
  function showTab(name) {
    document.querySelectorAll(".rc-tabs [role=tab]").forEach(function (b) {
      var on = b.dataset.tab === name;
      b.setAttribute("aria-selected", on ? "true" : "false");
      $("panel-" + b.dataset.tab).hidden = !on;
    });
  }
  document.querySelectorAll(".rc-tabs [role=tab]").forEach(function (b) {
    b.addEventListener("click", function () { showTab(b.dataset.tab); });
  });

  cfg.posts.slice().reverse().forEach(addPost);
  renderAlerts();
  renderSos();
  connectLive();
  connectControl();
  // "x min ago" moves on between frames.
  setInterval(function () { renderAlerts(); renderSos(); renderCrew(); }, 15000);
})();
