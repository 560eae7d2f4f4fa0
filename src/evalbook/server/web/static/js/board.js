// The runs board: one EventSource per tab for every active run of the workspace
// (GET /api/events), resumed with Last-Event-ID after a dropped connection. Cards are
// rendered by the server; this only moves counters, colours cells and shows the item
// being asked. Everything from the stream is set as text, never as HTML.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board || typeof EventSource === "undefined") return;

  var STATES = ["pending", "partial", "passed", "failed", "error"];
  var live = document.querySelector("[data-live]");
  var cursor = board.getAttribute("data-cursor") || "0";
  var fetching = {};

  function card(runId) {
    return board.querySelector('[data-run="' + CSS.escape(runId) + '"]');
  }
  function setText(el, text) { if (el) el.textContent = text; }
  function count(c, name, delta) {
    var el = c.querySelector('[data-count="' + name + '"]');
    if (!el) return;
    el.textContent = String(Math.max(0, (parseInt(el.textContent, 10) || 0) + delta));
  }

  function refreshCard(runId, insert) {
    if (fetching[runId]) return;
    fetching[runId] = true;
    fetch("/runs/" + encodeURIComponent(runId) + "/card", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-run]");
        if (!fresh) return;
        fresh = document.importNode(fresh, true);
        var old = card(runId);
        if (old) old.replaceWith(fresh);
        else if (insert) board.insertBefore(fresh, board.firstChild);
        if (window.htmx) window.htmx.process(fresh);
        updateEmpty();
      })
      .finally(function () { fetching[runId] = false; });
  }

  function updateEmpty() {
    var n = board.querySelectorAll("[data-run]").length;
    var empty = board.querySelector("[data-board-empty]");
    if (empty) empty.hidden = n > 0;
    setText(document.querySelector("[data-active-count]"), String(n));
  }

  function cellState(size, done, failed, errored) {
    if (errored) return "error";
    if (failed) return "failed";
    if (done >= size) return "passed";
    return done ? "partial" : "pending";
  }

  function paint(cell, state) {
    STATES.forEach(function (s) { cell.classList.remove("c-" + s); });
    cell.classList.remove("c-now");
    cell.classList.add("c-" + state);
    var label = cell.getAttribute("aria-label") || "";
    cell.setAttribute("aria-label", label.replace(/: [a-z]+$/, "") + ": " + state);
  }

  // The status a one-item cell had when the card was rendered: the server counted that
  // result already (the stream starts at the page's cursor, read before the counts, so
  // an event may repeat what the page shows; it must not count twice).
  function drawn(c, seq) {
    if (typeof seq !== "number") return undefined;
    var cell = c.querySelector('.cell[data-i="' + seq + '"]');
    if (!cell) return undefined;
    if (cell.classList.contains("c-error")) return "error";
    if (cell.classList.contains("c-failed")) return "failed";
    if (cell.classList.contains("c-passed")) return "passed";
    return undefined;
  }

  function onItem(data) {
    var c = card(data.run_id);
    if (!c) { refreshCard(data.run_id, true); return; }
    var total = parseInt(c.getAttribute("data-total"), 10) || 0;
    var per = parseInt(c.getAttribute("data-per"), 10) || 1;
    var seen = c._seen || (c._seen = {});
    var key = data.case_id + "\u0000" + data.epoch;
    var before = seen[key];
    if (before === undefined && per === 1) before = drawn(c, data.seq);
    if (before === data.status) return; // a repeat after a resume: already counted
    seen[key] = data.status;
    var status = data.status === "error" ? "error" : data.status;
    if (before === undefined) count(c, "done", 1);
    else count(c, before === "error" ? "error" : before, -1);
    count(c, status, 1);
    if (data.attempts > 1) {
      count(c, "retries", data.attempts - 1);
      var retries = c.querySelector("[data-retries]");
      if (retries) retries.hidden = false;
    }
    var progress = c.querySelector("[data-progress]");
    var done = c.querySelector('[data-count="done"]');
    if (progress && done) progress.value = parseInt(done.textContent, 10) || 0;
    if (typeof data.seq === "number" && data.seq >= 0 && data.seq < total) {
      var cell = c.querySelector('.cell[data-i="' + Math.floor(data.seq / per) + '"]');
      if (cell) {
        if (per === 1) {
          paint(cell, status);
        } else {
          var size = Math.min(per, total - Math.floor(data.seq / per) * per);
          var n = Math.min(size, (parseInt(cell.getAttribute("data-done"), 10) || 0) + (before === undefined ? 1 : 0));
          cell.setAttribute("data-done", String(n));
          cell._failed = (cell._failed || 0) + (status === "failed" ? 1 : 0);
          cell._errored = (cell._errored || 0) + (status === "error" ? 1 : 0);
          var current = STATES.filter(function (s) { return cell.classList.contains("c-" + s); })[0];
          var next = cellState(size, n, cell._failed, cell._errored);
          if (current === "error" || (current === "failed" && next !== "error")) next = current;
          paint(cell, next);
        }
      }
    }
    setText(c.querySelector("[data-last-case]"), data.case_id + (data.epoch ? " · epoch " + data.epoch : ""));
    var verdict = c.querySelector("[data-last-verdict]");
    if (verdict) {
      verdict.textContent = status;
      verdict.className = "verdict " + (status === "passed" ? "verdict-pass" : "verdict-fail");
    }
    setText(c.querySelector("[data-last-answer]"), data.output != null ? data.output : (data.error || ""));
    var retry = c.querySelector("[data-last-retry]");
    if (retry) {
      // The line belongs to the last answer: hidden again when it needed no retry.
      var failedAttempts = (data.attempts || 1) - 1;
      retry.hidden = !(data.retry_error && failedAttempts > 0);
      retry.textContent = retry.hidden ? "" : "after " + failedAttempts + " failed attempt" + (failedAttempts > 1 ? "s" : "") + ": " + data.retry_error;
    }
  }

  function onStarted(data) {
    var c = card(data.run_id);
    if (!c) { refreshCard(data.run_id, true); return; }
    var now = c.querySelector("[data-now]");
    if (now) now.hidden = false;
    setText(c.querySelector("[data-now-case]"), data.case_id + (data.epoch ? " · epoch " + data.epoch : ""));
    setText(c.querySelector("[data-now-question]"), data.question || "");
    var per = parseInt(c.getAttribute("data-per"), 10) || 1;
    var cell = c.querySelector('.cell[data-i="' + Math.floor((data.seq || 0) / per) + '"]');
    if (cell && cell.classList.contains("c-pending")) cell.classList.add("c-now");
    var images = c.querySelector("[data-now-images]");
    if (images) {
      images.replaceChildren();
      (data.images || []).slice(0, 4).forEach(function (sha) {
        if (!/^[0-9a-f]{64}$/.test(sha)) return;
        var img = document.createElement("img");
        img.src = "/api/runs/" + encodeURIComponent(data.run_id) + "/images/" + sha;
        img.alt = "image of case " + data.case_id;
        img.loading = "lazy";
        images.appendChild(img);
      });
    }
  }

  function onStatus(data) {
    var c = card(data.run_id);
    if (!c) { refreshCard(data.run_id, true); return; }
    if (data.status) {
      c.setAttribute("data-status", data.status);
      var badge = c.querySelector("[data-status]");
      if (badge && badge !== c) {
        badge.textContent = data.status;
        badge.className = "badge status-" + data.status;
      }
      if (data.status === "running" && !c.getAttribute("data-started")) {
        c.setAttribute("data-started", new Date().toISOString());
      }
    }
  }

  function onFinished(data) {
    refreshCard(data.run_id, true);
  }

  function handler(fn) {
    return function (event) {
      cursor = event.lastEventId || cursor;
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data && typeof data.run_id === "string") fn(data);
    };
  }

  var source = new EventSource("/api/events?after=" + encodeURIComponent(cursor));
  source.addEventListener("item", handler(onItem));
  source.addEventListener("started", handler(onStarted));
  source.addEventListener("status", handler(onStatus));
  source.addEventListener("finished", handler(onFinished));
  source.addEventListener("open", function () { if (live) live.classList.add("on"); });
  source.addEventListener("error", function () { if (live) live.classList.remove("on"); });
  window.evalbookBoard = { source: function () { return source; } };

  // Elapsed time of running cards, every second.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function elapsed(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " m " + pad(s % 60) + " s";
    return Math.floor(m / 60) + " h " + pad(m % 60) + " m";
  }
  function tick() {
    board.querySelectorAll('[data-run][data-status="running"], [data-run][data-status="pending"]').forEach(function (c) {
      var started = Date.parse(c.getAttribute("data-started") || "");
      if (!isNaN(started)) setText(c.querySelector("[data-elapsed]"), elapsed(Date.now() - started));
    });
  }
  tick();
  setInterval(tick, 1000);
})();
