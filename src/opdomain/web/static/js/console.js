/* opdomain console: small progressive enhancements. The pages work without this file. */
(function () {
  "use strict";
  // Upload progress for large files (SPEC §4: progress shown for large files).
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target.closest ? evt.target.closest("form") : null;
    var bar = form ? form.querySelector("progress.upload-progress") : null;
    if (bar && evt.detail.lengthComputable) {
      bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
    }
  });
  // Show the chosen file's name beside the translated "choose file" button.
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.classList || !input.classList.contains("file-input")) { return; }
    var name = input.parentNode.querySelector(".file-name");
    if (!name) { return; }
    var chosen = input.files && input.files.length ? input.files[0].name : "";
    name.textContent = chosen || name.getAttribute("data-empty") || "";
    name.classList.toggle("chosen", Boolean(chosen));
  });
  // htmx pushes searches into the address bar without re-rendering the header: the language
  // switch then goes back to the address shown, not the one the page was first rendered for.
  // (Only when the path is the same: a page rendered for a POST keeps the server's choice.)
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest ? evt.target.closest("a[data-lang]") : null;
    if (!link) { return; }
    var url = new URL(link.href, window.location.href);
    var next = new URL(url.searchParams.get("next") || "/", window.location.href);
    if (next.pathname === window.location.pathname) {
      url.searchParams.set("next", window.location.pathname + window.location.search);
      link.href = url.pathname + url.search;
    }
  });
  // A refused or failed htmx request still shows the server's page part (see htmx-config);
  // a network failure gets a visible message instead of silence.
  document.addEventListener("htmx:sendError", function () {
    var main = document.getElementById("main");
    if (main && !document.getElementById("network-error")) {
      var div = document.createElement("div");
      div.id = "network-error";
      div.className = "alert alert-error";
      div.setAttribute("role", "alert");
      // the text comes from the page, translated with every other string
      div.textContent = main.getAttribute("data-network-error") || "";
      main.insertBefore(div, main.firstChild);
    }
  });
})();
