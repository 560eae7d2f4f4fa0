// The comparison page: j/k/o move between cases (case-nav.js), 1–5 switch the view
// (flips, regressions, fixes, different outputs, all), ] goes to the next page.
// Plain script, no inline handlers (CSP).
(function () {
  "use strict";
  var nav = window.evalbookCaseNav("[data-rows] > [data-case]");

  // htmx replaces the rows on "Next →": start again from the top of the new page.
  document.addEventListener("htmx:afterSwap", function () { nav.reset(); });

  document.addEventListener("keydown", function (event) {
    if (nav.handle(event) || !nav.ours(event)) return;
    var key = event.key;
    if (/^[1-5]$/.test(key)) {
      var tab = document.querySelector('[data-view="' + key + '"]');
      if (tab) { tab.click(); event.preventDefault(); }
    } else if (key === "]") {
      var next = document.querySelector("[data-next-page]");
      if (next) { next.click(); event.preventDefault(); }
    }
  });
})();
