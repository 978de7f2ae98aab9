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
