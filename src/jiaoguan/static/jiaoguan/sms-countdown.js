/* "获取验证码": after a code is sent the button waits, counting down, until the server would send
   another (issue 11, item 7). The page says how long in data-wait; without this script the button
   stays usable and the server's own limits answer a resend that comes too soon. */
(function () {
  "use strict";

  function start(button) {
    var wait = parseInt(button.getAttribute("data-wait") || "0", 10);
    if (!(wait > 0) || button.getAttribute("data-counting") === "1") {
      return;
    }
    var label = button.getAttribute("data-label") || button.textContent;
    var template = button.getAttribute("data-wait-text") || "{seconds}";
    var endsAt = Date.now() + wait * 1000;
    button.setAttribute("data-counting", "1");
    button.disabled = true;

    function tick() {
      var left = Math.ceil((endsAt - Date.now()) / 1000);
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        button.removeAttribute("data-counting");
        button.removeAttribute("data-wait");
        return;
      }
      button.textContent = template.replace("{seconds}", String(left));
      window.setTimeout(tick, 250);
    }
    tick();
  }

  function scan(root) {
    var buttons = (root || document).querySelectorAll("button[data-wait]");
    for (var i = 0; i < buttons.length; i += 1) {
      start(buttons[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
  // The mobile field is swapped in place by htmx after a send: htmx:load names the new content.
  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    if (root && root.matches && root.matches("button[data-wait]")) {
      start(root);
    } else if (root && root.querySelectorAll) {
      scan(root);
    }
  });
})();
