// After a logout (/track/signed-out/): the tracker's service-worker cache (its pages hold
// the entries' tokens) and its IndexedDB (tokens, pending fixes) leave this device, so the
// next person to open /track/ with no signal finds neither. Then on to the next page.
(function () {
  "use strict";
  var root = document.getElementById("signed-out");
  function done() {
    root.dataset.state = "forgotten";
    location.replace(root.dataset.next || "/");
  }
  var caches_ = window.caches ? caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("pace-track-") === 0; })
      .map(function (k) { return caches.delete(k); }));
  }) : Promise.resolve();
  var db = new Promise(function (resolve) {
    if (!window.indexedDB) { resolve(); return; }
    var r = indexedDB.deleteDatabase("pace-tracker");
    // An open tracker tab closes its connection when asked (track.js), so this is quick;
    // "blocked" waits for it, success or error ends it.
    r.onsuccess = r.onerror = function () { resolve(); };
  });
  // Never stuck here: on after a few seconds whatever happened.
  Promise.race([Promise.all([caches_, db]), new Promise(function (r) { setTimeout(r, 4000); })])
    .then(done, done);
})();
