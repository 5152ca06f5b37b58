/* Verifier page (E4): scan the QR with the camera where the browser can (BarcodeDetector),
   fill the text box and submit. Elsewhere the button stays hidden and the page says to
   upload a photo or paste instead. No framework. */
(function () {
  "use strict";
  /* The answer comes first: move focus there so screen readers read it at once. */
  var verdict = document.getElementById("verdict");
  if (verdict) verdict.focus();
  var form = document.getElementById("verify-form");
  var button = document.getElementById("scan-btn");
  var note = document.getElementById("scan-unsupported");
  var error = document.getElementById("scan-error");
  var video = document.getElementById("scan-video");
  if (!form || !button || !video) return;
  var text = form.querySelector("textarea[name='text']");
  var stream = null;
  var detector = null;
  var timer = 0;

  function unsupported() {
    button.hidden = true;
    if (note) note.hidden = false;
  }

  function label(value) {
    var span = button.querySelector("span");
    if (span) span.textContent = value;
  }

  function stop() {
    window.clearTimeout(timer);
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
    video.srcObject = null;
    label(button.getAttribute("data-start"));
    button.setAttribute("aria-pressed", "false");
  }

  function found(value) {
    stop();
    text.value = value;
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  function scan() {
    if (!stream) return;
    detector.detect(video).then(function (codes) {
      for (var i = 0; i < codes.length; i++) {
        if (codes[i].rawValue) { found(codes[i].rawValue); return; }
      }
      timer = window.setTimeout(scan, 250);
    }).catch(function () {
      timer = window.setTimeout(scan, 500);
    });
  }

  function start() {
    if (error) error.hidden = true;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        label(button.getAttribute("data-stop"));
        button.setAttribute("aria-pressed", "true");
        return video.play();
      })
      .then(scan)
      .catch(function () {
        stop();
        if (error) {
          error.textContent = error.getAttribute("data-denied");
          error.hidden = false;
        }
      });
  }

  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    unsupported();
    return;
  }
  var ready = window.BarcodeDetector.getSupportedFormats
    ? window.BarcodeDetector.getSupportedFormats()
    : Promise.resolve(["qr_code"]);
  ready.then(function (formats) {
    if (formats.indexOf("qr_code") < 0) { unsupported(); return; }
    detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    button.hidden = false;
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      if (stream) stop();
      else start();
    });
  }).catch(unsupported);

  window.addEventListener("pagehide", stop);
})();
