/* Progressive enhancement only: every form also works as a plain POST without this. */
function focusOutcome() {
  // A refused form's error summary first, else the messages: focus makes them announced.
  var outcome = document.querySelector(
    "#main [data-error-summary], #main .messages, #main [role=alert]"
  );
  if (outcome) {
    outcome.setAttribute("tabindex", "-1");
    outcome.focus();
  }
}
// After a form swapped the page in place.
document.addEventListener("htmx:afterSettle", focusOutcome);
// After a plain POST answered with the refused form (autofocus does it too; not every
// browser honours it on a non-control).
document.addEventListener("DOMContentLoaded", function () {
  if (document.querySelector("#main [data-error-summary]")) {
    focusOutcome();
  }
});
// A link in the error summary puts the cursor in its field, not just scrolls to it.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-error-summary] a[href^='#']");
  var field = link && document.getElementById(link.getAttribute("href").slice(1));
  if (field) {
    event.preventDefault();
    field.scrollIntoView({ block: "center" });
    field.focus();
  }
});

/* Files over the attachment limits: say so before sending. The server refuses such a
   request unread, and a browser still uploading may then show only a network error. */
(function () {
  function megabytes(bytes) {
    return Math.round((bytes / 1048576) * 10) / 10 + " MB";
  }

  function problemWith(input) {
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var files = Array.prototype.slice.call(input.files || []);
    if (maxFiles && files.length > maxFiles) {
      return "You chose " + files.length + " files: up to " + maxFiles + " can be attached.";
    }
    var large = files.filter(function (file) { return maxBytes && file.size > maxBytes; });
    if (large.length) {
      return large.map(function (file) { return file.name + " is " + megabytes(file.size); }).join(", ") +
        ": each file can be up to " + megabytes(maxBytes) + ". Remove it or attach a smaller one.";
    }
    return "";
  }

  function show(input, problem) {
    var id = input.id + "_size_error";
    var note = document.getElementById(id);
    if (!problem) {
      if (note) { note.remove(); }
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.id = id;
      note.className = "error";
      note.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", note);
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + id).trim());
    }
    note.textContent = problem;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=file][data-max-bytes]")) {
      show(event.target, problemWith(event.target));
    }
  });

  // Capture phase: runs before htmx's own submit handler on the form, and stops it.
  document.addEventListener("submit", function (event) {
    var inputs = event.target.querySelectorAll("input[type=file][data-max-bytes]");
    for (var i = 0; i < inputs.length; i++) {
      var problem = problemWith(inputs[i]);
      show(inputs[i], problem);
      if (problem) {
        event.preventDefault();
        event.stopImmediatePropagation();
        inputs[i].focus();
        return;
      }
    }
  }, true);

  // The 413 page's "Back to the form": history keeps what was typed in it.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-history-back]").forEach(function (button) {
      if (window.history.length > 1) {
        button.hidden = false;
        button.addEventListener("click", function () { window.history.back(); });
      }
    });
  });
})();
