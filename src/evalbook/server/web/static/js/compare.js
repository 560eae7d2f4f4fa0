// The comparison page: move between cases with j/k, open one with o, switch the view
// with 1–5 (flips, regressions, fixes, different outputs, all), next page with ].
// Plain script, no inline handlers (CSP).
(function () {
  "use strict";
  var current = -1;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-rows] > [data-case]")); }
  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }
  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (el) { el.classList.remove("case-current"); });
    var el = all[index];
    el.classList.add("case-current");
    var summary = el.querySelector("summary");
    if (summary) summary.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
    current = index;
  }
  // htmx replaces the rows on "Next →": start again from the top of the new page.
  document.addEventListener("htmx:afterSwap", function () { current = -1; });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var key = event.key;
    if (key === "j") { select(current + 1); event.preventDefault(); }
    else if (key === "k") { select(current < 0 ? 0 : current - 1); event.preventDefault(); }
    else if (key === "o") {
      var el = rows()[current];
      var details = el && el.querySelector("details");
      if (details) { details.open = !details.open; event.preventDefault(); }
    } else if (/^[1-5]$/.test(key)) {
      var tab = document.querySelector('[data-view="' + key + '"]');
      if (tab) { tab.click(); event.preventDefault(); }
    } else if (key === "]") {
      var next = document.querySelector("[data-next-page]");
      if (next) { next.click(); event.preventDefault(); }
    }
  });
})();
