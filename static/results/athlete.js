// An athlete's result: their GPS trace (and the course, when there is one) on a map.
(function () {
  "use strict";
  var el = document.getElementById("trace-map");
  if (!el || typeof L === "undefined") { return; }
  var tiles = JSON.parse(document.getElementById("pace-tiles").textContent);
  var map = L.map(el, { scrollWheelZoom: false });
  if (tiles.url) {
    L.tileLayer(tiles.url, { maxZoom: 18, attribution: tiles.attribution }).addTo(map);
  }
  function json(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) { throw new Error(url + " " + r.status); }
      return r.json();
    });
  }
  var course = el.dataset.courseUrl ? json(el.dataset.courseUrl).catch(function () { return null; }) : Promise.resolve(null);
  Promise.all([course, json(el.dataset.traceUrl)])
    .then(function (found) {
      var feature = found[0], trace = found[1].trace;
      var bounds = null;
      if (feature && feature.geometry) {
        var line = feature.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
        var courseLine = L.polyline(line, { color: "#9aa5b8", weight: 6, opacity: 0.7, className: "course-line" }).addTo(map);
        bounds = courseLine.getBounds();
      }
      if (trace.length) {
        var traceLine = L.polyline(trace, { color: "#e4572e", weight: 3, className: "trace-line" }).addTo(map);
        L.circleMarker(trace[0], { radius: 5, color: "#2a9d8f", fillOpacity: 1 }).addTo(map);
        L.circleMarker(trace[trace.length - 1], { radius: 5, color: "#1d3557", fillOpacity: 1 }).addTo(map);
        bounds = bounds ? bounds.extend(traceLine.getBounds()) : traceLine.getBounds();
      }
      if (bounds) { map.fitBounds(bounds, { padding: [16, 16] }); }
      el.dataset.ready = "1";
    })
    .catch(function () {
      el.classList.add("map-error");
      el.textContent = "The map could not be loaded.";
    });
})();
