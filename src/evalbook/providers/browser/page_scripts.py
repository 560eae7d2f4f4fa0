"""The scripts the provider runs inside the page.

Why in the page: the done rule (a new message, the streaming marker gone, the text stable
for ``settle_ms``) is checked by one ``wait_for_function`` polling every 50 ms inside the
page, rather than by a round trip per check; a failure trace then holds one action per
turn, not hundreds. A reload wipes the page's ``window``, so the token set before sending
is gone and the wait reports ``reloaded`` instead of reading a stale answer.
"""

from __future__ import annotations

__all__ = ["ARM", "DONE", "EXCERPT", "PAGE_STATE", "POLL_MS"]

POLL_MS = 50

#: Before sending: remember this turn's token and forget the last wait's state.
ARM = "token => { window.__evalbookToken = token; window.__evalbookWait = null; }"

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

#: ``[response, login, rateLimited, before]`` → what the page shows now (for messages).
PAGE_STATE = (
    "(a) => {"
    + _VISIBLE
    + """
  const [response, login, rate, before] = a;
  const all = document.querySelectorAll(response);
  const last = all.length ? all[all.length - 1].innerText : null;
  return {
    login: visible(login) ? visible(login).innerText.slice(0, 500) : null,
    rate: visible(rate) ? visible(rate).innerText.slice(0, 500) : null,
    count: all.length, grew: all.length > before, last: last && last.slice(-200),
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
