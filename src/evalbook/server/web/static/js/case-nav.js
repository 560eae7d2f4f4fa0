// Moving between the cases of a page from the keyboard, shared by the run inspector and the
// comparison: j/k select the next/previous case, o opens or closes it. Each page adds its
// own keys on top. Plain script, no inline handlers (CSP).
(function () {
  "use strict";

  // Keys typed into a field are the user's text, never shortcuts.
  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // A navigator over the elements matching `selector`; `onSelect(el)` runs when one becomes
  // the current case.
  function caseNav(selector, onSelect) {
    var current = -1;
    function all() { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
    function mark(el, index) {
      all().forEach(function (c) { c.classList.remove("case-current"); });
      el.classList.add("case-current");
      current = index;
      if (onSelect) onSelect(el);
    }
    function select(index) {
      var cases = all();
      if (!cases.length) return;
      index = Math.max(0, Math.min(cases.length - 1, index));
      var el = cases[index];
      mark(el, index);
      var summary = el.querySelector("summary");
      if (summary) summary.focus({ preventScroll: true });
      el.scrollIntoView({ block: "nearest" });
    }
    return {
      all: all,
      select: select,
      current: function () { return current; },
      currentCase: function () { return all()[current] || null; },
      reset: function () { current = -1; },
      // Focus moved into a case by mouse or Tab: it becomes the current one.
      follow: function (target) {
        if (!(target instanceof Element)) return;
        var el = target.closest(selector);
        var index = el ? all().indexOf(el) : -1;
        if (index >= 0 && index !== current) mark(el, index);
      },
      // j, k and o; true when the key was one of them and was used.
      handle: function (event) {
        if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return false;
        if (typing(event.target)) return false;
        var key = event.key;
        if (key === "j") select(current + 1);
        else if (key === "k") select(current < 0 ? 0 : current - 1);
        else if (key === "o") {
          var el = all()[current];
          var details = el && el.querySelector("details");
          if (!details) return false;
          details.open = !details.open;
        } else return false;
        event.preventDefault();
        return true;
      },
      // Whether the page's own keys should be read for this event.
      ours: function (event) {
        return !(event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target));
      }
    };
  }

  window.evalbookCaseNav = caseNav;
})();
