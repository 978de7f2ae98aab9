/* Progressive enhancement only: every form also works as a plain POST without this. */
document.addEventListener("htmx:afterSettle", function () {
  // After a form swapped the page in place, move focus to the outcome so it is announced.
  var outcome = document.querySelector("#main .messages, #main [role=alert]");
  if (outcome) {
    outcome.setAttribute("tabindex", "-1");
    outcome.focus();
  }
});
