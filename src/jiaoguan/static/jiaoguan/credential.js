/* The on-screen credential (E3 online): a countdown in seconds and a fresh QR fetched
   shortly before the shown one expires. Every few seconds it also asks whether the QR on
   the screen has been verified: each one is checked only once, so the holder is told when
   and gets a new one at once. Without JavaScript the page reloads itself through a
   <noscript> meta refresh. No framework; the fragment also suits htmx. */
(function () {
  "use strict";
  var live = document.getElementById("qr-live");
  if (!live || !window.fetch) return;
  var url = live.getAttribute("data-refresh-url");
  var before = parseInt(live.getAttribute("data-refresh-before"), 10) || 20;
  var deadline = 0;
  var busy = false;
  var retryAt = 0;
  var POLL_SECONDS = 4;
  var polledAt = Date.now();

  function readDeadline() {
    var box = document.getElementById("qr");
    var ttl = box ? parseInt(box.getAttribute("data-ttl"), 10) : NaN;
    /* Counted from the server's remaining seconds, so a wrong phone clock does not matter. */
    deadline = isNaN(ttl) ? 0 : Date.now() + ttl * 1000;
  }

  function secondsLeft() {
    return Math.max(0, Math.round((deadline - Date.now()) / 1000));
  }

  function say(text) {
    var line = document.getElementById("qr-countdown");
    if (line && text) line.textContent = text;
  }

  function shownNonce() {
    var box = document.getElementById("qr");
    return box ? box.getAttribute("data-nonce") || "" : "";
  }

  function refresh(onlyIfChecked) {
    busy = true;
    var target = url;
    if (onlyIfChecked) target += (url.indexOf("?") < 0 ? "?" : "&") + "shown=" + encodeURIComponent(shownNonce());
    fetch(target, { credentials: "same-origin", cache: "no-store", headers: { "HX-Request": "true" } })
      .then(function (response) {
        if (response.status === 409) {
          window.location.reload(); /* no longer valid: the page says why */
          return null;
        }
        if (response.status === 204) {
          busy = false; /* not checked yet: keep showing it */
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        live.innerHTML = html;
        readDeadline();
        busy = false;
      })
      .catch(function () {
        busy = false;
        retryAt = Date.now() + 5000;
        if (secondsLeft() === 0) say(live.getAttribute("data-failed"));
      });
  }

  function tick() {
    if (!deadline) return;
    var left = secondsLeft();
    var counter = live.querySelector("[data-seconds]");
    if (counter) counter.textContent = String(left);
    if (left === 0 && busy) say(live.getAttribute("data-expired"));
    if (busy || Date.now() < retryAt) return;
    if (left <= before) {
      refresh(false);
    } else if (!document.hidden && shownNonce() && Date.now() - polledAt >= POLL_SECONDS * 1000) {
      polledAt = Date.now();
      refresh(true);
    }
  }

  readDeadline();
  tick();
  window.setInterval(tick, 1000);
  /* A phone wakes up with a stale QR: check at once instead of waiting for the next tick. */
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) tick();
  });
})();
