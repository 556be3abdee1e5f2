/* The workspace pages: small enhancements. Every page works without this file. */
(function () {
  "use strict";
  // Ctrl+Enter (or Cmd+Enter) in the SQL editor runs the query.
  document.addEventListener("keydown", function (evt) {
    var area = evt.target;
    if (!area || area.id !== "sql-text") { return; }
    if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey)) {
      evt.preventDefault();
      if (area.form.requestSubmit) { area.form.requestSubmit(); } else { area.form.submit(); }
    }
  });
  // A form that runs a query or builds the dev data: one submission at a time.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy")) { return; }
    if (form.getAttribute("data-submitted")) { evt.preventDefault(); return; }
    form.setAttribute("data-submitted", "1");
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-busy", "true"); }
  });
  // Coming back with the browser's back button: the form may be submitted again.
  window.addEventListener("pageshow", function () {
    var forms = document.querySelectorAll("form[data-submitted]");
    for (var i = 0; i < forms.length; i++) { forms[i].removeAttribute("data-submitted"); }
  });
})();
