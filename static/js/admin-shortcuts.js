/* Keyboard shortcuts for the case list and the case page of the admin.
 *
 * r: write a public reply; n: write an internal note; a: take the case (presses the
 * Take button, which POSTs as a click would); /: the list's search box; ?: the list of
 * shortcuts. Never while typing in a field, never with Ctrl, Alt or Meta held.
 * Loaded with `defer` from change_list.html and change_form.html.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var SEARCH_HASH = "#searchbar";

  function compose() {
    return document.querySelector("form.wb-compose");
  }

  function composeBox() {
    var form = compose();
    return form && form.querySelector("textarea");
  }

  function takeButton() {
    return document.querySelector("form.wb-action-take button[type=submit]");
  }

  function searchBox() {
    return document.getElementById("searchbar");
  }

  // The list this case page was opened from, filters kept (Django's preserved filters).
  function listUrl() {
    var match = window.location.pathname.match(/^(.*\/)[^/]+\/change\/$/);
    if (!match) {
      return null;
    }
    var filters = new URLSearchParams(window.location.search).get("_changelist_filters");
    return match[1] + (filters ? "?" + filters : "") + SEARCH_HASH;
  }

  function write(mode) {
    var form = compose();
    var box = composeBox();
    if (!form || !box) {
      return false;
    }
    form.setAttribute("data-compose-mode", mode);
    box.focus();
    return true;
  }

  var SHORTCUTS = [
    {
      key: "r",
      text: "Write a public reply (case page)",
      available: function () { return Boolean(composeBox()); },
      run: function () { return write("reply"); },
    },
    {
      key: "n",
      text: "Write an internal note (case page)",
      available: function () { return Boolean(composeBox()); },
      run: function () { return write("note"); },
    },
    {
      key: "a",
      text: "Take the case: assign it to me (case page)",
      available: function () { return Boolean(takeButton()); },
      run: function () {
        var button = takeButton();
        if (!button) {
          return false;
        }
        button.click();
        return true;
      },
    },
    {
      key: "/",
      text: "Search the case list",
      available: function () { return Boolean(searchBox() || listUrl()); },
      run: function () {
        var box = searchBox();
        if (box) {
          box.focus();
          box.select();
          return true;
        }
        var url = listUrl();
        if (url) {
          window.location.assign(url);
          return true;
        }
        return false;
      },
    },
    {
      key: "?",
      text: "Show these shortcuts",
      available: function () { return true; },
      run: function () { openHelp(); return true; },
    },
  ];

  var dialog = null;

  function buildHelp() {
    var box = document.createElement("dialog");
    box.className = "kb-help";
    box.id = "keyboard-shortcuts";
    box.setAttribute("aria-labelledby", "keyboard-shortcuts-title");

    var title = document.createElement("h2");
    title.id = "keyboard-shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    box.appendChild(title);

    var list = document.createElement("dl");
    list.className = "kb-help-list";
    SHORTCUTS.forEach(function (shortcut) {
      var row = document.createElement("div");
      row.setAttribute("data-shortcut", shortcut.key);
      if (!shortcut.available()) {
        row.className = "kb-help-unavailable";
      }
      var term = document.createElement("dt");
      var key = document.createElement("kbd");
      key.textContent = shortcut.key;
      term.appendChild(key);
      var meaning = document.createElement("dd");
      meaning.textContent = shortcut.text + (shortcut.available() ? "" : " — not on this page");
      row.appendChild(term);
      row.appendChild(meaning);
      list.appendChild(row);
    });
    box.appendChild(list);

    var note = document.createElement("p");
    note.className = "help";
    note.textContent = "Shortcuts do nothing while you type in a field. Esc closes this list.";
    box.appendChild(note);

    var close = document.createElement("button");
    close.type = "button";
    close.className = "button";
    close.textContent = "Close";
    close.addEventListener("click", function () { box.close(); });
    box.appendChild(close);

    document.body.appendChild(box);
    return box;
  }

  function openHelp() {
    if (dialog) {
      dialog.remove();
    }
    // Built afresh: what is available changes with the page (a taken case has no Take).
    dialog = buildHelp();
    dialog.showModal();
  }

  function isTyping(target) {
    if (!target || !(target instanceof Element)) {
      return false;
    }
    if (target.isContentEditable) {
      return true;
    }
    return Boolean(target.closest("input, textarea, select, [contenteditable]"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.isComposing || event.repeat) {
      return;
    }
    if (event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    if (isTyping(event.target) || isTyping(document.activeElement)) {
      return;
    }
    if (dialog && dialog.open) {
      return; // the list of shortcuts is modal: Esc or Close first
    }
    var key = event.key;
    var shortcut = SHORTCUTS.find(function (each) { return each.key === key; });
    if (shortcut && shortcut.run()) {
      event.preventDefault();
    }
  }

  function loadStylesheet() {
    var href = script && script.getAttribute("data-stylesheet");
    if (!href || document.querySelector('link[href="' + href + '"]')) {
      return;
    }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }

  function focusSearchFromHash() {
    var box = searchBox();
    if (box && window.location.hash === SEARCH_HASH) {
      box.focus();
    }
  }

  loadStylesheet();
  document.addEventListener("keydown", onKey);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSearchFromHash);
  } else {
    focusSearchFromHash();
  }
})();
