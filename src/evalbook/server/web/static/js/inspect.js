// The run inspector: move between cases with j/k, open one with o, toggle the failed and
// errored filters with f/e. Plain script, no inline handlers (CSP).
(function () {
  "use strict";
  var current = -1;

  function cases() { return Array.prototype.slice.call(document.querySelectorAll("[data-case]")); }
  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }
  function select(index) {
    var all = cases();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (el) { el.classList.remove("case-current"); });
    var el = all[index];
    el.classList.add("case-current");
    var summary = el.querySelector("summary");
    if (summary) summary.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
    current = index;
    document.dispatchEvent(new CustomEvent("evalbook:case", { detail: el }));
  }
  function toggle(name) {
    var box = document.querySelector("[data-toggle-" + name + "]");
    if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var key = event.key;
    if (key === "j") { select(current + 1); event.preventDefault(); }
    else if (key === "k") { select(current < 0 ? 0 : current - 1); event.preventDefault(); }
    else if (key === "o") {
      var el = cases()[current];
      var details = el && el.querySelector("details");
      if (details) { details.open = !details.open; event.preventDefault(); }
    }
    else if (/^[0-9]$/.test(key)) { if (score(Number(key))) event.preventDefault(); }
    else if (key === "l" || key === "m") { if (focusField(key === "l" ? "label" : "comment")) event.preventDefault(); }
    else if (key === "r") { toggle("awaiting"); event.preventDefault(); }
    else if (key === "f") { toggle("failed"); event.preventDefault(); }
    else if (key === "e") { toggle("errored"); event.preventDefault(); }
  });
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var el = target.closest("[data-case]");
    if (!el) return;
    var index = cases().indexOf(el);
    if (index >= 0 && index !== current) {
      cases().forEach(function (c) { c.classList.remove("case-current"); });
      el.classList.add("case-current");
      current = index;
      document.dispatchEvent(new CustomEvent("evalbook:case", { detail: el }));
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "items") current = -1;
  });

  // Review: digits score the current case (within its criterion's scale), send the form,
  // and move on once it is saved. The reviewer's name is remembered in this browser.
  var advanceFrom = -1;
  function currentForm() {
    var el = cases()[current];
    return el ? el.querySelector("[data-review-form]") : null;
  }
  function openCurrent() {
    var el = cases()[current];
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
    advanceFrom = current;
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
    var el = cases()[advanceFrom];
    var saved = el && el.querySelector(".review-saved");
    var from = advanceFrom;
    advanceFrom = -1;
    if (saved) select(from + 1);
  });
  document.addEventListener("DOMContentLoaded", function () {
    fillAuthor(document);
    var open = document.querySelector("[data-case] details[open]");
    if (open) select(cases().indexOf(open.closest("[data-case]")));
  });
})();
