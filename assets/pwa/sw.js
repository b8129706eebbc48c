// Service worker of the tracking page: keeps the shell (one HTML for every /t/<code>, the
// CSS, JS, manifest and icon) so the page opens without network; the page itself keeps
// the last status it saw. {{v}} is the release hash: a new release gets a new cache.
'use strict';
var V = '{{v}}';
var CACHE = 'onetrip-shell-' + V;
var SHELL = '/t/';
var FILES = [SHELL, '/pwa/app.css?v=' + V, '/pwa/app.js?v=' + V, '/pwa/manifest.webmanifest', '/pwa/icon-192.png'];

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(FILES); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf('onetrip-shell-') === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (e) {
  var req = e.request;
  if (req.method !== 'GET') return;  // look-ups always go to the network
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate' && url.pathname.indexOf('/t/') === 0) {
    // Network first, so a new release shows at once; the cached shell when offline.
    e.respondWith(fetch(req).then(function (res) {
      if (res.ok) { var copy = res.clone(); caches.open(CACHE).then(function (c) { c.put(SHELL, copy); }); }
      return res;
    }).catch(function () { return caches.match(SHELL); }));
  } else if (url.pathname.indexOf('/pwa/') === 0) {
    e.respondWith(caches.match(req).then(function (hit) { return hit || fetch(req); }));
  }
});
