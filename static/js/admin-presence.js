/* "Someone else is here": every few seconds the case page tells the server this engineer
   has it open (and whether they are typing) and shows who else does. No WebSocket; the
   server keeps each beat in the cache for a few seconds. */
(function () {
  "use strict";

  var banner = document.querySelector("[data-presence]");
  if (!banner) {
    return;
  }
  var url = banner.getAttribute("data-presence-url");
  var seconds = parseInt(banner.getAttribute("data-presence-seconds"), 10) || 5;
  var text = banner.querySelector("[data-presence-text]");
  var token = banner.querySelector("[name=csrfmiddlewaretoken]").value;
  var TYPING_MS = 6000;
  var lastTypedAt = 0;
  var timer = null;
  var stopped = false;

  function typing() {
    return Date.now() - lastTypedAt < TYPING_MS;
  }

  function names(list) {
    if (list.length < 2) {
      return list.join("");
    }
    return list.slice(0, -1).join(", ") + " and " + list[list.length - 1];
  }

  function show(others) {
    var typists = others.filter(function (o) { return o.typing; }).map(function (o) { return o.name; });
    var viewers = others.filter(function (o) { return !o.typing; }).map(function (o) { return o.name; });
    var sentences = [];
    if (typists.length) {
      sentences.push(names(typists) + (typists.length > 1 ? " are" : " is") + " typing a reply…");
    }
    if (viewers.length) {
      sentences.push(names(viewers) + (viewers.length > 1 ? " are" : " is") + " also viewing this case.");
    }
    var message = sentences.join(" ");
    if (text.textContent !== message) {
      text.textContent = message;
    }
    text.classList.toggle("wb-presence-typing", typists.length > 0);
  }

  function form(fields) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token);
    Object.keys(fields).forEach(function (name) {
      body.append(name, fields[name]);
    });
    return body;
  }

  function beat() {
    clearTimeout(timer);
    if (stopped) {
      return;
    }
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token },
      body: form({ typing: typing() ? "1" : "0" }),
    })
      .then(function (response) {
        if (response.status === 403 || response.status === 404) {
          stopped = true; // signed out, or no longer allowed on this case
        }
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer) {
          show(answer.others);
        }
      })
      .catch(function () {})
      .then(function () {
        if (!stopped) {
          timer = setTimeout(beat, seconds * 1000);
        }
      });
  }

  // Typing in any box of the workbench: tell the others now, not at the next beat.
  document.addEventListener("input", function (event) {
    if (!event.target.closest || !event.target.closest("form textarea, form input[type=text]")) {
      return;
    }
    var wasTyping = typing();
    lastTypedAt = Date.now();
    if (!wasTyping) {
      beat();
    }
  });

  // Leaving the page: gone at once for the others, not after the cache's few seconds.
  window.addEventListener("pagehide", function () {
    stopped = true;
    if (navigator.sendBeacon) {
      navigator.sendBeacon(url, form({ left: "1" }));
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      stopped = false;
      beat();
    }
  });

  beat();
})();
