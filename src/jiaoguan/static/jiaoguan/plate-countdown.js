// The held numbers' countdown on the plate selection page (B19): the server's remaining seconds,
// counted down once a second; at zero the page reloads and shows the hold as ended.
(function () {
  "use strict";
  document.querySelectorAll("time.plate-countdown[data-seconds]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-seconds"), 10) || 0;
    function show() {
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    }
    show();
    var timer = window.setInterval(function () {
      left -= 1;
      if (left <= 0) {
        left = 0;
        show();
        window.clearInterval(timer);
        window.setTimeout(function () { window.location.reload(); }, 1500);
        return;
      }
      show();
    }, 1000);
  });
})();
