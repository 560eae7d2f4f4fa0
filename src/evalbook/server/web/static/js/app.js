// evalbook: what every page shares. Theme switch, the "?" shortcut list, global keys,
// and the archive's "compare selected". Plain script, no inline handlers (CSP).
(function () {
  "use strict";
  var root = document.documentElement;
  var THEMES = ["auto", "light", "dark"];
  var LABELS = { auto: "Theme: follow the system", light: "Theme: light", dark: "Theme: dark" };
  var ICONS = { auto: "◐", light: "☀", dark: "☾" };

  function storedTheme() {
    try { return localStorage.getItem("evalbook-theme") || "auto"; } catch (e) { return "auto"; }
  }
  function applyTheme(theme) {
    root.setAttribute("data-theme", theme);
    var button = document.querySelector("[data-theme-toggle]");
    if (button) {
      button.textContent = ICONS[theme];
      button.setAttribute("aria-label", LABELS[theme]);
      button.title = LABELS[theme];
    }
  }
  function cycleTheme() {
    var next = THEMES[(THEMES.indexOf(storedTheme()) + 1) % THEMES.length];
    try { localStorage.setItem("evalbook-theme", next); } catch (e) { /* private mode */ }
    applyTheme(next);
  }
  applyTheme(storedTheme());

  function dialog() { return document.getElementById("shortcuts"); }
  function openShortcuts() { var d = dialog(); if (d && !d.open) d.showModal(); }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  var GO = { d: "/", r: "/runs", c: "/compare", s: "/suites", p: "/prompts", j: "/judges" };
  var pendingG = 0;

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key;
    if (pendingG && Date.now() - pendingG < 1200 && GO[key]) {
      pendingG = 0;
      window.location.assign(GO[key]);
      event.preventDefault();
      return;
    }
    pendingG = 0;
    if (key === "?") { openShortcuts(); event.preventDefault(); }
    else if (key === "g") { pendingG = Date.now(); }
    else if (key === "n") { window.location.assign("/runs/new"); }
    else if (key === "t") { cycleTheme(); }
    else if (key === "/") {
      var search = document.querySelector("[data-search]");
      if (search) { search.focus(); event.preventDefault(); }
    } else if (key === "c") {
      var compare = document.querySelector("[data-compare-button]");
      if (compare && !compare.disabled) compare.click();
    } else if (key === "x") {
      var row = document.activeElement && document.activeElement.closest("tr");
      var box = row && row.querySelector("input[type=checkbox][name=runs]");
      if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-theme-toggle]")) cycleTheme();
    else if (target.closest("[data-open-shortcuts]")) openShortcuts();
    else if (target.closest("[data-close-dialog]")) {
      var d = target.closest("dialog");
      if (d) d.close();
    }
  });

  // The archive: select runs, then compare them as /compare?runs=A,B (oldest first).
  function selected(form) {
    return Array.prototype.map.call(
      form.querySelectorAll("input[name=runs]:checked"), function (box) { return box.value; });
  }
  function refreshCompare() {
    var form = document.querySelector("[data-compare-form]");
    if (!form) return;
    var ids = selected(form);
    var button = form.querySelector("[data-compare-button]");
    var count = form.querySelector("[data-selected-count]");
    if (button) button.disabled = ids.length < 2;
    if (count) {
      count.textContent = ids.length === 0 ? "Select two or more runs to compare."
        : ids.length + " selected" + (ids.length < 2 ? " — pick one more." : "");
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target instanceof Element && event.target.matches("input[name=runs]")) refreshCompare();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-compare-form]")) return;
    event.preventDefault();
    var ids = selected(form).reverse();
    if (ids.length >= 2) window.location.assign("/compare?runs=" + ids.map(encodeURIComponent).join(","));
  });
  document.addEventListener("htmx:afterSwap", refreshCompare);
  document.addEventListener("DOMContentLoaded", refreshCompare);
})();
