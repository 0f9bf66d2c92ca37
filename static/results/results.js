// Results table: filters apply when changed, and a live race's table refreshes itself.
(function () {
  "use strict";
  var form = document.getElementById("results-filters");
  // Empty fields stay out of the address: one address (and one cached page) per view.
  function go(event) {
    if (event) { event.preventDefault(); }
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim()) { query.append(key, String(value).trim()); }
    });
    var text = query.toString();
    window.location.assign(window.location.pathname + (text ? "?" + text : ""));
  }
  if (form) {
    form.addEventListener("submit", go);
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { go(null); });
    });
  }

  // While a race runs the server marks the table live: fetch the same page again and
  // swap in its table (server-rendered, escaped HTML parsed inertly by DOMParser).
  var live = document.getElementById("results-live");
  var seconds = live && parseInt(live.dataset.live || "0", 10);
  if (!seconds) { return; }
  function refresh() {
    if (document.hidden) { return; }
    fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("results-live");
        var state = doc.getElementById("results-state");
        if (fresh) { live.replaceChildren.apply(live, Array.from(fresh.childNodes).map(function (n) { return document.importNode(n, true); })); }
        var current = document.getElementById("results-state");
        if (state && current) { current.replaceWith(document.importNode(state, true)); }
        if (fresh && !fresh.dataset.live) { window.clearInterval(timer); }
      })
      .catch(function () { /* the next tick tries again */ });
  }
  var timer = window.setInterval(refresh, seconds * 1000);
})();
