// What the live, embed, replay and race control pages share, loaded before each page's
// own script: text-only elements, and the map with its tiles and the race's course.
(function () {
  "use strict";

  // Names, bibs, split names and posts are typed by athletes and organizers: they reach
  // the page only as text (textContent), never through HTML.
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text != null) { node.textContent = String(text); }
    return node;
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }

  // A duration in seconds as h:mm:ss (m:ss under an hour, unless `hours`): one rule for
  // every page (live, embed, replay), as results.formatting.duration on the results pages:
  // to the millisecond, then a time not on a whole second is rounded up (road-race rule),
  // so an athlete's time or gap reads the same on the board, in an embed and in results.
  function duration(s, hours) {
    if (s == null || !isFinite(s)) { return "–"; }
    s = Math.max(0, Math.ceil(Math.round(s * 1000) / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h || hours ? h + ":" + two(m) + ":" + two(sec) : m + ":" + two(sec);
  }

  // A Leaflet map in element `id` with the configured tiles (none: a blank map), showing
  // the whole world until something is placed on it.
  function baseMap(id, options, tiles) {
    var map = L.map(id, options);
    if (tiles.url) {
      L.tileLayer(tiles.url, { maxZoom: 19, attribution: tiles.attribution }).addTo(map);
    }
    map.setView([0, 0], 2);
    return map;
  }
  // The race's course (GeoJSON Feature) from `url`; rejects when it cannot be had.
  function fetchCourse(url) {
    return fetch(url, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) { throw new Error("course " + r.status); } return r.json(); });
  }
  function courseLatLngs(feature) {
    return feature.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
  }

  // Text as a search compares it: lower case, accents off (NFKD, then the combining marks
  // dropped), and the letters that do not decompose spelt as people type them without the
  // key (ø, ł, ß, æ…): "lopez" finds López, "lodz" Łódź, "strasse" Straße.
  var SPELT = { "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th" };
  function folded(text) {
    return String(text == null ? "" : text).normalize("NFKD").toLowerCase().normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "").replace(/[ßøłđðæœıþ]/g, function (c) { return SPELT[c]; });
  }

  // Leaflet's tooltips listen for focus on a marker's SVG path (to open on focus), and
  // Chromium puts SVG elements with focus listeners in the Tab order: a race's hundreds of
  // markers would sit between the map and the board. The keyboard reaches athletes through
  // the board's rows instead. Call once the layer is on the map (its element exists).
  function outOfTabOrder(layer) {
    var node = layer.getElement && layer.getElement();
    if (node) { node.setAttribute("tabindex", "-1"); }
    return layer;
  }

  // The seconds a server asked a refused client to wait (PROTOCOL.md, "Overload and
  // reconnects": a 1013 close whose reason holds "retry=S"), or null.
  function retryHint(ev) {
    var m = ev.code === 1013 && /(?:^|[\s;,])retry=(\d+(?:\.\d+)?)(?:$|[\s;,])/.exec(ev.reason || "");
    return m ? Number(m[1]) : null;
  }
  // Seconds to wait before the `attempt`th reconnect (1, 2, …) of a live socket closed with
  // `ev`, or told `hint` seconds by an error frame: the server's retry=S when it gave one,
  // else exponential backoff from 1 s to 60 s; each plus up to half again of random jitter,
  // so the thousands of clients of a restarted process come back spread out, never sooner
  // than 1 s. The live page, the embed and the tracker all wait by this one rule.
  function reconnectDelay(attempt, ev, hint) {
    var asked = retryHint(ev || {});
    if (asked == null && hint != null) { asked = Number(hint); }
    var base = asked != null ? Math.max(1, asked) : Math.min(60, Math.pow(2, Math.max(0, attempt - 1)));
    return Math.min(asked != null ? Infinity : 60, base * (1 + Math.random() / 2));
  }

  window.PaceCommon = {
    el: el, two: two, duration: duration, baseMap: baseMap, fetchCourse: fetchCourse, courseLatLngs: courseLatLngs,
    reconnectDelay: reconnectDelay, retryHint: retryHint, outOfTabOrder: outOfTabOrder,
    folded: folded
  };
})();
