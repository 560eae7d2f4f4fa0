"""The scripts the provider runs inside the page.

Why in the page: the done rule (a new message, the streaming marker gone, the text stable
for ``settle_ms``) is checked by one ``wait_for_function`` polling every 50 ms inside the
page, rather than by a round trip per check; a failure trace then holds one action per
turn, not hundreds. A reload wipes the page's ``window``, so the token set before sending
is gone and the wait reports ``reloaded`` instead of reading a stale answer.

Arming also starts a ``MutationObserver`` noting the elements the page adds or changes
after the message is sent. When no answer matched ``response`` in time, those say
whether the site answered somewhere else (a wrong selector: a config error naming it,
with the element the answer went to) or never answered (a timeout, retried).
"""

from __future__ import annotations

__all__ = ["ARM", "CHANGED_LIMIT", "DONE", "EXCERPT", "PAGE_STATE", "POLL_MS"]

POLL_MS = 50

#: At most this many changed elements are noted per turn (a busy page stays cheap).
CHANGED_LIMIT = 500

#: Before sending: remember this turn's token, forget the last wait's state, and note the
#: elements the page adds or changes from now on.
ARM = (
    """token => {
  window.__evalbookToken = token;
  window.__evalbookWait = null;
  if (window.__evalbookObserver) window.__evalbookObserver.disconnect();
  const changed = window.__evalbookChanged = new Set();
  const note = (node) => {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    if (el && changed.size < """
    + str(CHANGED_LIMIT)
    + """) changed.add(el);
  };
  const observer = window.__evalbookObserver = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "characterData") note(r.target);
      else for (const n of r.addedNodes) note(n);
    }
  });
  observer.observe(document.body, {childList: true, characterData: true, subtree: true});
}"""
)

_VISIBLE = """
const visible = (sel) => {
  if (!sel) return null;
  for (const el of document.querySelectorAll(sel)) {
    if (el.getClientRects().length) return el;
  }
  return null;
};
"""

#: ``[response, streaming, login, rateLimited, before, settleMs, requireText, token]`` →
#: false (keep waiting) or ``{state, text, count}``.
DONE = (
    "(a) => {"
    + _VISIBLE
    + """
  const [response, streaming, login, rate, before, settle, requireText, token] = a;
  if (window.__evalbookToken !== token) return {state: "reloaded"};
  const lock = visible(login);
  if (lock) return {state: "login", text: lock.innerText.slice(0, 500)};
  const banner = visible(rate);
  if (banner) return {state: "rate_limited", text: banner.innerText.slice(0, 500)};
  const all = document.querySelectorAll(response);
  if (all.length < before) return {state: "cleared", count: all.length};
  if (all.length === before) return false;
  const text = all[all.length - 1].innerText;
  const now = performance.now();
  const st = window.__evalbookWait || (window.__evalbookWait = {text: null, since: now});
  if (text !== st.text) { st.text = text; st.since = now; return false; }
  if (streaming && visible(streaming)) return false;
  if (requireText && !text.trim()) return false;
  if (now - st.since < settle) return false;
  return {state: "done", text: text, count: all.length};
}"""
)

#: ``[response, login, rateLimited, before, streaming, typed]`` → what the page shows now
#: (for messages). ``stray``: the outer HTML of the element with the longest visible text
#: that the page added or changed since the message was sent, leaving out the message as
#: shown back (an element holding all of it, or the start of it), the streaming marker and
#: the input; ``null`` when there is none.
PAGE_STATE = (
    "(a) => {"
    + _VISIBLE
    + """
  const [response, login, rate, before, streaming, typed] = a;
  const all = document.querySelectorAll(response);
  const last = all.length ? all[all.length - 1].innerText : null;
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const sent = norm(typed);
  let best = null;
  for (const el of window.__evalbookChanged || []) {
    if (!el.isConnected || !el.getClientRects().length) continue;
    if (streaming && el.closest(streaming)) continue;
    if (el.closest("input, textarea, [contenteditable]")) continue;
    const text = norm(el.innerText);
    const cut = text.replace(/(\\.\\.\\.|\u2026)$/, "");
    if (!text || text.includes(sent) || (cut && sent.startsWith(cut))) continue;
    if (!best || text.length > best.text.length) best = {text, el};
  }
  return {
    login: visible(login) ? visible(login).innerText.slice(0, 500) : null,
    rate: visible(rate) ? visible(rate).innerText.slice(0, 500) : null,
    count: all.length, grew: all.length > before, last: last && last.slice(-200),
    streaming: !!visible(streaming),
    stray: best ? best.el.outerHTML.slice(0, 300) : null,
  };
}"""
)

#: ``[response, limit]`` → the newest answer's HTML, else the body's, cut at ``limit``.
EXCERPT = """([response, limit]) => {
  const all = response ? document.querySelectorAll(response) : [];
  const el = all.length ? all[all.length - 1] : document.body;
  const html = el ? el.outerHTML : "";
  return html.length > limit ? html.slice(0, limit) : html;
}"""
