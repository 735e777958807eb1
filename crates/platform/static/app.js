// Forms marked data-draft keep what was typed in localStorage, so a dropped connection or a
// closed tab loses nothing; the draft is cleared once the server has accepted the form.
(function () {
  "use strict";
  // A page that confirms a save clears that form's draft first, so the form shown on it is not
  // refilled with what was just saved.
  var done = document.querySelector("[data-draft-done]");
  if (done) { try { localStorage.removeItem("draft:" + done.getAttribute("data-draft-done")); } catch (e) {} }
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = "draft:" + form.getAttribute("data-draft");
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved && !form.hasAttribute("data-server-values")) {
      Object.keys(saved).forEach(function (name) {
        var el = form.elements[name];
        if (el && name !== "_csrf" && !el.value) { el.value = saved[name]; }
      });
    }
    form.addEventListener("input", function () {
      var data = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.name !== "_csrf" && el.type !== "password") { data[el.name] = el.value; }
      });
      try { localStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* storage full: typing still works */ }
    });
  });
})();
// Selects marked data-autosubmit (the language menu) send their form when changed; inline
// handlers are not allowed by the Content-Security-Policy.
document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
  sel.addEventListener("change", function () { sel.form.submit(); });
});
