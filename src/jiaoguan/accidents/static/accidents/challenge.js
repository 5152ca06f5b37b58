/* Proof of work for an accident number that many wrong codes were tried on (A5, see
   accidents/rules.py): find the smallest n such that SHA-256 of "challenge:code:n" starts with
   `bits` zero bits, put it in the form and send it. The code is normalised as the server does.
   The work runs in slices so the page stays responsive; it starts by itself when the code is
   already filled in, otherwise when the form is sent. No framework, no inline script. */
(function () {
  "use strict";
  var box = document.getElementById("challenge");
  var form = document.querySelector("form[data-challenge-form]");
  if (!box || !form || !window.TextEncoder) return;
  var challenge = box.getAttribute("data-challenge");
  var bits = parseInt(box.getAttribute("data-bits"), 10);
  var codeField = form.querySelector("[name=code]");
  var solutionField = form.querySelector("[name=solution]");
  var status = document.getElementById("challenge-status");
  var running = false;

  /* SHA-256 (FIPS 180-4) over bytes, as eight signed 32-bit words. */
  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var W = new Int32Array(64);

  function sha256(bytes) {
    var length = bytes.length;
    var blocks = (length + 9 + 63) >> 6;
    var words = new Int32Array(blocks * 16);
    var i, t;
    for (i = 0; i < length; i++) words[i >> 2] |= bytes[i] << (24 - (i & 3) * 8);
    words[length >> 2] |= 0x80 << (24 - (length & 3) * 8);
    words[blocks * 16 - 1] = length * 8;
    var h = [0x6a09e667, 0xbb67ae85 | 0, 0x3c6ef372, 0xa54ff53a | 0, 0x510e527f, 0x9b05688c | 0,
             0x1f83d9ab, 0x5be0cd19];
    for (var start = 0; start < words.length; start += 16) {
      for (t = 0; t < 16; t++) W[t] = words[start + t];
      for (t = 16; t < 64; t++) {
        var x = W[t - 15], y = W[t - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (t = 0; t < 64; t++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
    }
    return h;
  }

  function leadingZeroBits(words) {
    var count = 0;
    for (var i = 0; i < words.length; i++) {
      if (words[i] !== 0) return count + Math.clz32(words[i]);
      count += 32;
    }
    return count;
  }

  /* accidents.rules.code_normalise */
  function normalise(value) {
    var text = (value || "").normalize("NFKC").toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 64);
    return text.replace(/O/g, "0").replace(/I/g, "1").replace(/L/g, "1");
  }

  function say(name) {
    if (status && box.getAttribute(name)) status.textContent = box.getAttribute(name);
  }

  function solve() {
    if (running || !codeField || !solutionField || !codeField.value.trim()) return;
    running = true;
    say("data-working");
    var encoder = new TextEncoder();
    var prefix = challenge + ":" + normalise(codeField.value) + ":";
    var n = 0;
    (function slice() {
      for (var end = n + 20000; n < end; n++) {
        if (leadingZeroBits(sha256(encoder.encode(prefix + n))) >= bits) {
          solutionField.value = String(n);
          say("data-done");
          form.submit();
          return;
        }
      }
      setTimeout(slice, 0);
    })();
  }

  window.jiaoguanChallenge = { sha256: sha256, normalise: normalise };
  form.addEventListener("submit", function (event) {
    if (solutionField && solutionField.value) return;
    event.preventDefault();
    solve();
  });
  if (codeField) codeField.addEventListener("input", function () { solutionField.value = ""; });
  solve();
})();
