// Event page: draw each race's course (GeoJSON from its course URL) on a Leaflet map.
(function () {
  "use strict";
  var tiles = JSON.parse(document.getElementById("pace-tiles").textContent);

  // Organizers type split names (or bring them in a GPX file): Leaflet takes a string
  // as HTML, so a tooltip gets an element holding the name as text.
  function textNode(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function drawCourse(el, feature) {
    var map = L.map(el, { scrollWheelZoom: false });
    if (tiles.url) {
      L.tileLayer(tiles.url, { maxZoom: 18, attribution: tiles.attribution }).addTo(map);
    }
    var latlngs = feature.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
    var line = L.polyline(latlngs, { color: "#e4572e", weight: 4, className: "course-line" }).addTo(map);
    map.fitBounds(line.getBounds(), { padding: [16, 16] });
    feature.properties.split_points.forEach(function (sp) {
      L.circleMarker([sp.lat, sp.lon], { radius: 5, color: "#1d3557", fillOpacity: 1, className: "split-marker" })
        .bindTooltip(textNode(sp.name + " · " + (sp.distance / 1000).toFixed(1) + " km"))
        .addTo(map);
    });
    el.dataset.ready = "1";
  }

  document.querySelectorAll(".map[data-course-url]").forEach(function (el) {
    fetch(el.dataset.courseUrl, { headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("course " + r.status); }
        return r.json();
      })
      .then(function (feature) { drawCourse(el, feature); })
      .catch(function () {
        el.classList.add("map-error");
        el.textContent = "The course map could not be loaded.";
      });
  });
})();
