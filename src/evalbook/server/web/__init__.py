"""The web workspace: server-rendered pages beside the JSON API.

Pages (``pages/``, one module per page) render Jinja2 templates (``templates/``) in a
sandboxed, autoescaping environment; htmx (vendored in ``static/vendor/``) swaps the
parts that change, and a little plain JavaScript (``static/js/``) follows live runs over
one ``EventSource`` per tab. Every page's data comes from the same query as its JSON twin
in the API, linked from the page's footer. ``README.md`` here says how to add a page.
"""

from evalbook.server.web.install import install_web

__all__ = ["install_web"]
