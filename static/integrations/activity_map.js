// The activity's route, one line per track in its legend colour (grey where nothing
// played). Track names stay in the server-rendered legend: the map draws lines only.
(function () {
  "use strict";
  var el = document.getElementById("activity-map");
  if (!el || !window.L) { return; }
  var tiles = JSON.parse(document.getElementById("pace-tiles").textContent);
  var data = JSON.parse(document.getElementById("activity-map-data").textContent);
  // maxZoom: without tiles (offline, tests) Leaflet has no zoom limit of its own.
  var map = L.map(el, { scrollWheelZoom: false, maxZoom: 18 });
  if (tiles.url) {
    L.tileLayer(tiles.url, { maxZoom: 18, attribution: tiles.attribution }).addTo(map);
  }
  var bounds = null;
  data.segments.forEach(function (segment) {
    var line = L.polyline(segment.points, {
      color: segment.color,
      weight: segment.track === null ? 4 : 6,
      opacity: 0.95,
      className: segment.track === null ? "silence-line" : "track-line track-" + segment.track
    }).addTo(map);
    bounds = bounds ? bounds.extend(line.getBounds()) : line.getBounds();
  });
  if (bounds) {
    map.fitBounds(bounds, { padding: [16, 16] });
    // A phone turned sideways (or a resized window) keeps the whole route in view.
    // Not animated: a screenshot or a print resizes the window and draws at once.
    window.addEventListener("resize", function () {
      if (!el.clientWidth || !el.clientHeight) { return; }
      map.invalidateSize(false);
      map.fitBounds(bounds, { padding: [16, 16], animate: false });
    });
  }
  el.dataset.ready = "1";
})();
