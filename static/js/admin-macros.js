/* The case page's macro picker: choosing a macro asks the server for its text filled in
   for this case and puts it in a text box to edit. It never submits anything: the
   engineer presses the button. The form's hidden `macro` field says which macro filled
   it, so the server counts the use when the message is sent. */
(function () {
  "use strict";

  var picker = document.querySelector("[data-macro-picker]");
  if (!picker) {
    return;
  }
  var select = picker.querySelector("[data-macro-select]");
  var status = picker.querySelector("[data-macro-status]");
  var replyForm = picker.closest("form");
  var ACTION_LABELS = { request_info: "Request information", resolve: "Resolve" };

  function field(form, name) {
    return form && form.querySelector("[name$='-" + name + "']");
  }

  // Where a macro's text goes: its paired action's form when that button is on the page,
  // else the reply box.
  function targetFor(macro) {
    if (macro.action) {
      var form = document.querySelector("form.wb-action-" + macro.action);
      if (form && field(form, "message")) {
        return { form: form, box: field(form, "message"), paired: true };
      }
    }
    return { form: replyForm, box: field(replyForm, "body"), paired: false };
  }

  function clearMarks() {
    document.querySelectorAll("form [name$='-macro']").forEach(function (input) {
      input.value = "";
    });
    document.querySelectorAll(".wb-macro-target").forEach(function (form) {
      form.classList.remove("wb-macro-target");
    });
    document.querySelectorAll(".wb-macro-note").forEach(function (note) {
      note.remove();
    });
  }

  // Said again in the form the page scrolled to: the picker's own line is out of sight.
  function noteIn(form, message) {
    var note = document.createElement("p");
    note.className = "wb-macro-note";
    note.textContent = message;
    form.insertBefore(note, form.firstChild);
  }

  function insert(macro) {
    var target = targetFor(macro);
    clearMarks();
    var box = target.box;
    // Never lose what was typed: the macro comes after it.
    box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n\n" + macro.text : macro.text;
    var used = field(target.form, "macro");
    if (used) {
      used.value = String(macro.id);
    }
    var label = ACTION_LABELS[macro.action];
    if (target.paired) {
      var kind = field(target.form, "kind");
      if (kind && macro.info_request_kind) {
        kind.value = macro.info_request_kind;
      }
      target.form.classList.add("wb-macro-target");
      status.textContent =
        "“" + macro.name + "” is in the " + label + " form. Edit it, then press " + label + ".";
      noteIn(target.form, "From “" + macro.name + "”: nothing is sent until you press " + label + ".");
      target.form.scrollIntoView({ block: "center" });
    } else if (label) {
      status.textContent =
        "“" + macro.name + "” is in the reply box; " + label + " is not available on this case now.";
    } else {
      status.textContent = "“" + macro.name + "” is in the reply box. Edit it, then send.";
    }
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  select.addEventListener("change", function () {
    var id = select.value;
    if (!id) {
      return;
    }
    var url = picker.getAttribute("data-macro-url").replace(/\/0\/$/, "/" + id + "/");
    status.textContent = "Inserting…";
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(insert)
      .catch(function () {
        status.textContent = "That macro could not be inserted (is it still active?). Reload the page and try again.";
      })
      .then(function () {
        select.value = "";
      });
  });
})();
