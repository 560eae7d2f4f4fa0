"""The fake chat site's two pages (chat and login), as plain HTML with inline script.

The chat page behaves like a real product: the answer streams into a new
``.message.assistant`` bubble token by token while a ``.typing`` indicator shows, a "New
chat" button clears the conversation (aborting a stream in flight), a 429 shows a
``.rate-limit`` banner, a 401 a ``.login-required`` banner. Every text is set with
``textContent`` (never as HTML).
"""

from __future__ import annotations

import html

__all__ = ["chat_page", "login_page"]

_STYLE = """
body { font-family: sans-serif; margin: 0; background: #f6f6f8; color: #222; }
header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #fff;
  border-bottom: 1px solid #ddd; }
main { max-width: 46rem; margin: 1rem auto; padding: 0 1rem; }
.message { white-space: pre-wrap; padding: .6rem .8rem; margin: .5rem 0; border-radius: .5rem; }
.message.user { background: #dbe8ff; margin-left: 20%; }
.message.assistant { background: #fff; border: 1px solid #ddd; margin-right: 20%; }
.typing { color: #888; font-style: italic; padding: 0 1rem; }
.rate-limit, .login-required { background: #fff3cd; border: 1px solid #e0c060;
  padding: .6rem 1rem; margin: .5rem auto; max-width: 44rem; }
form#composer { display: flex; gap: .5rem; max-width: 46rem; margin: 1rem auto; padding: 0 1rem; }
textarea { flex: 1; font: inherit; padding: .5rem; }
"""

_SCRIPT = r"""
const log = document.getElementById("log");
const box = document.getElementById("prompt");
const banner = document.getElementById("banner");
const status = document.getElementById("status");
let controller = null;

function bubble(role, text) {
  const el = document.createElement("div");
  el.className = "message " + role;
  el.textContent = text;
  log.appendChild(el);
  return el;
}
function showBanner(kind, text) {
  const el = document.createElement("div");
  el.className = kind;
  el.textContent = text;
  banner.replaceChildren(el);
}
function clearChat() {
  if (controller) controller.abort();
  controller = null;
  log.replaceChildren();
  banner.replaceChildren();
  status.replaceChildren();
}
document.getElementById("new-chat").addEventListener("click", clearChat);
box.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
});
document.getElementById("composer").addEventListener("submit", (e) => {
  e.preventDefault(); send();
});

async function send() {
  const text = box.value;
  if (!text.trim()) return;
  box.value = "";
  banner.replaceChildren();
  bubble("user", text);
  const typing = document.createElement("div");
  typing.className = "typing";
  typing.textContent = "Assistant is typing…";
  status.replaceChildren(typing);
  const mine = controller = new AbortController();
  const done = () => { if (controller === mine) { controller = null; typing.remove(); } };
  let reply;
  try {
    reply = await fetch("/api/chat", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({message: text}), signal: mine.signal,
    });
  } catch (e) { done(); return; }
  if (reply.status === 429) {
    const body = await reply.json();
    done();
    showBanner("rate-limit", "Too many requests. Try again in " + body.retry_after + " seconds.");
    return;
  }
  if (reply.status === 401) {
    done();
    showBanner("login-required", "Your session has expired. Please log in again.");
    return;
  }
  const answer = bubble("assistant", "");
  const reader = reply.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const {value, done: finished} = await reader.read();
      if (finished) break;
      buffer += decoder.decode(value, {stream: true});
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const event = JSON.parse(line);
        if (event.t !== undefined) answer.textContent += event.t;
        if (event.reload) { location.reload(); return; }
      }
    }
  } catch (e) { /* aborted by a new chat */ }
  done();
}
"""


def chat_page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<header><strong>{html.escape(title)}</strong><button id="new-chat" type="button">New chat</button>
</header>
<div id="banner"></div>
<main id="log"></main>
<div id="status"></div>
<form id="composer"><textarea id="prompt" rows="3" placeholder="Message"></textarea>
<button id="send" type="submit">Send</button></form>
<script>{_SCRIPT}</script>
</body></html>"""


def login_page(title: str, error: str | None = None) -> str:
    problem = f'<p class="login-error">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in · {html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>Log in to {html.escape(title)}</h1>{problem}
<form id="login-form" method="post" action="/login">
<label>User <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="login-button" type="submit">Log in</button>
</form></main></body></html>"""
