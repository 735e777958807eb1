// The mission-day form, used on a phone over a poor link. The platform's draft (app.js) keeps
// typed text; this adds the choices of selects to it, and keeps a submit that cannot reach the
// server on the page, with everything typed and a notice, instead of a browser error page.
(function () {
  "use strict";
  var form = document.querySelector("form[data-offline-safe]");
  if (!form) { return; }
  var key = "draft:" + form.getAttribute("data-draft");
  var done = document.querySelector("[data-draft-done]");
  if (done && done.getAttribute("data-draft-done") === form.getAttribute("data-draft")) {
    // Just saved: app.js refilled the form from the draft before dropping it; start afresh.
    form.reset();
  } else if (!form.hasAttribute("data-server-values")) {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved) {
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (sel) {
        if (typeof saved[sel.name] === "string" && saved[sel.name] !== "") { sel.value = saved[sel.name]; }
      });
    }
  }
  var notice = document.getElementById("offline");
  var sending = false;
  form.addEventListener("submit", function (ev) {
    if (sending) { return; }
    ev.preventDefault();
    fetch("/healthz", { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("unavailable"); }
      if (notice) { notice.hidden = true; }
      sending = true;
      form.submit();
    }).catch(function () {
      if (notice) { notice.hidden = false; }
    });
  });
})();
