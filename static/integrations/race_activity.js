// The athlete's own Strava activity of this race, fetched for them alone (the page itself
// is cached for everyone). Strava's strings reach the DOM as text only.
(function () {
  "use strict";
  var box = document.getElementById("strava-race-activity");
  if (!box) return;
  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
  }
  fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : { activity: null }; })
    .then(function (body) {
      var a = body.activity;
      if (!a) return;
      var link = box.querySelector(".strava-race-name");
      link.textContent = a.name || a.sport;
      link.href = a.url;
      box.querySelector(".strava-race-facts").textContent =
        a.distance_km + " km · moving " + clock(a.moving_time) + " · elapsed " + clock(a.elapsed_time);
      box.hidden = false;
    })
    .catch(function () { /* no block: the page works without it */ });
})();
