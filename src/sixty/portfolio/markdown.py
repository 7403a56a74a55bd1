"""Markdown to HTML a page can show as is.

markdown-it-py renders CommonMark with raw HTML turned off (a `<script>` typed in a bio comes out
as text) and refuses `javascript:`-like link targets; nh3 (the Rust ammonia sanitiser) then keeps
only an allowlist of tags and attributes and http(s)/mailto links, as a second wall should a
rendering rule ever let something through. Rendered once when written, never per read.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "strikethrough"
)
# Images are left out: a portfolio's images are its projects' stored files, not hot links.
_RENDERER.disable("image")

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def render(text: str) -> str:
    """Sanitised HTML for Markdown `text` ("" for "")."""
    if not text:
        return ""
    html = _RENDERER.render(text)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    ).strip()
