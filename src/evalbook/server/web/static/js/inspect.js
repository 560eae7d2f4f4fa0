// The run inspector: j/k/o move between cases (case-nav.js), f/e/r toggle the failed,
// errored and awaiting-review filters, digits score the current case in review.
// Plain script, no inline handlers (CSP).
(function () {
  "use strict";
  var nav = window.evalbookCaseNav("[data-case]", function (el) {
    document.dispatchEvent(new CustomEvent("evalbook:case", { detail: el }));
  });
  function toggle(name) {
    var box = document.querySelector("[data-toggle-" + name + "]");
    if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
  }

  document.addEventListener("keydown", function (event) {
    if (nav.handle(event) || !nav.ours(event)) return;
    var key = event.key;
    if (/^[0-9]$/.test(key)) { if (score(Number(key))) event.preventDefault(); }
    else if (key === "l" || key === "m") { if (focusField(key === "l" ? "label" : "comment")) event.preventDefault(); }
    else if (key === "r") { toggle("awaiting"); event.preventDefault(); }
    else if (key === "f") { toggle("failed"); event.preventDefault(); }
    else if (key === "e") { toggle("errored"); event.preventDefault(); }
  });
  document.addEventListener("focusin", function (event) { nav.follow(event.target); });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "items") nav.reset();
  });

  // Review: digits score the current case (within its criterion's scale), send the form,
  // and move on once it is saved. The reviewer's name is remembered in this browser.
  var advanceFrom = -1;
  function currentForm() {
    var el = nav.currentCase();
    return el ? el.querySelector("[data-review-form]") : null;
  }
  function openCurrent() {
    var el = nav.currentCase();
    var details = el && el.querySelector("details");
    if (details) details.open = true;
  }
  function score(value) {
    var form = currentForm();
    if (!form) return false;
    var input = form.querySelector("[data-review-score]");
    var option = form.querySelector("[data-review-name]");
    var chosen = option && option.selectedOptions[0];
    var low = chosen ? Number(chosen.getAttribute("data-low")) : 0;
    var high = chosen ? Number(chosen.getAttribute("data-high")) : 1;
    openCurrent();
    if (value < low || value > high) {
      input.setCustomValidity("Score " + value + " is outside " + low + "–" + high);
      input.reportValidity();
      return true;
    }
    input.setCustomValidity("");
    input.value = String(value);
    fillAuthor(form);
    advanceFrom = nav.current();
    // A form swapped in moments ago is wired by htmx only when its swap settles; wire it now
    // so that a fast reviewer's keystroke is never sent as a full-page post.
    if (window.htmx) window.htmx.process(form);
    form.requestSubmit();
    return true;
  }
  function focusField(name) {
    var form = currentForm();
    if (!form) return false;
    openCurrent();
    var field = form.querySelector("[data-review-" + name + "]");
    if (field) field.focus();
    return !!field;
  }
  function storedAuthor() {
    try { return localStorage.getItem("evalbook-reviewer") || ""; } catch (e) { return ""; }
  }
  function fillAuthor(root) {
    var name = storedAuthor();
    if (!name) return;
    (root || document).querySelectorAll("[data-review-author]").forEach(function (input) {
      if (!input.value) input.value = name;
    });
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.matches("[data-review-author]")) {
      try { localStorage.setItem("evalbook-reviewer", target.value.trim()); } catch (e) { /* private mode */ }
    }
    if (target instanceof HTMLSelectElement && target.matches("[data-review-name]")) {
      var chosen = target.selectedOptions[0];
      var input = target.form && target.form.querySelector("[data-review-score]");
      if (chosen && input) {
        input.min = chosen.getAttribute("data-low");
        input.max = chosen.getAttribute("data-high");
      }
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    fillAuthor(document);
    if (advanceFrom < 0) return;
    var el = nav.all()[advanceFrom];
    var saved = el && el.querySelector(".review-saved");
    var from = advanceFrom;
    advanceFrom = -1;
    if (saved) nav.select(from + 1);
  });
  document.addEventListener("DOMContentLoaded", function () {
    fillAuthor(document);
    var open = document.querySelector("[data-case] details[open]");
    if (open) nav.select(nav.all().indexOf(open.closest("[data-case]")));
  });
})();
