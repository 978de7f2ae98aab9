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
