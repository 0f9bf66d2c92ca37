// Pace tracker's service worker (served from {{ scope }}sw.js, scope {{ scope }}).
// The tracker page opens with no signal: its last copy and its assets are kept here.
// Pages: network first, the kept copy when offline. Assets: kept copy first.
"use strict";
var VERSION = "{{ version }}";
var CACHE = "pace-track-" + VERSION;
var ASSETS = {{ assets_json|safe }};
var SCOPE = "{{ scope }}";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("pace-track-") === 0 && k !== CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isPage(request, url) {
  return request.mode === "navigate" && url.pathname === SCOPE;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (isPage(request, url)) {
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected) { // not a login page in the tracker's place
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(request.url, copy); });
        } else if (response.redirected && !url.search) {
          // Sent to log in: the session ended (elsewhere, or expired). The copy of the
          // signed-in page (every entry's token) must not open offline any more.
          caches.open(CACHE).then(function (cache) { cache.delete(SCOPE); });
        }
        return response;
      }).catch(function () {
        return caches.open(CACHE).then(function (cache) {
          return cache.match(request.url).then(function (hit) {
            // Another entry's page (or the page without its token) is better than nothing.
            return hit || cache.match(SCOPE, { ignoreSearch: true }).then(function (any) {
              return any || new Response("<h1>No signal</h1><p>Open this page once online first.</p>",
                { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
            });
          });
        });
      })
    );
    return;
  }
  if (ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(
      caches.match(url.pathname).then(function (hit) {
        return hit || fetch(request);
      })
    );
  }
});

// The page asks to be kept when it first opens (it loaded before this worker controlled it).
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep" || typeof data.url !== "string") { return; }
  var url = new URL(data.url, self.location.origin);
  if (url.origin !== self.location.origin || url.pathname !== SCOPE) { return; }
  event.waitUntil(
    fetch(url.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || response.redirected) { return; }
      return caches.open(CACHE).then(function (cache) { return cache.put(url.href, response); });
    }).catch(function () {})
  );
});
