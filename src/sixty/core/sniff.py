"""What a file is, from its first bytes: never from its name or the Content-Type a client claims.

`sniff(head)` answers a media type:

1. Markup first. Text whose first non-blank character is `<` followed by a letter, `!`, `?` or
   `/` is `text/html` (`image/svg+xml` for `<svg`, `application/xml` for `<?xml`): the patterns a
   browser would render as a page (WHATWG MIME Sniffing 7.1), and wider. So an HTML page or a
   `<script>` named `cat.png` is never taken for an image, whatever its name and Content-Type.
2. Binary signatures (puremagic): images, PDF, office documents (zip containers looked into),
   audio, video, archives...
3. Otherwise UTF-8 text without control characters is `text/plain`; anything else is
   `application/octet-stream`.

The answer is then checked against an allowlist by the caller (files: `SIXTY_FILES_ALLOWED_TYPES`).
"""

from __future__ import annotations

import re

import puremagic

# Enough for every signature we allow, the zip directory entries of office documents included.
SNIFF_BYTES = 16 * 1024

BOMS = (b"\xef\xbb\xbf",)
_MARKUP = re.compile(rb"^[\t\n\x0c\r ]*<([A-Za-z!?/])")
_SVG = re.compile(rb"<svg[\s>/]", re.IGNORECASE)
# C0 controls other than tab, line feed, form feed, carriage return and escape: not text.
_BINARY_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
# Names puremagic gives that have a registered or more usual name.
_ALIASES = {
    "image/x-png": "image/png",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "application/x-pdf": "application/pdf",
}


def _strip_bom(head: bytes) -> bytes:
    for bom in BOMS:
        if head.startswith(bom):
            return head[len(bom) :]
    return head


def _markup(text: bytes) -> str | None:
    match = _MARKUP.match(text)
    if match is None:
        return None
    if text[match.start(1) :].lower().startswith(b"?xml"):
        return "image/svg+xml" if _SVG.search(text) else "application/xml"
    if _SVG.search(text[:1024]):
        return "image/svg+xml"
    return "text/html"


def _is_text(head: bytes, *, complete: bool) -> bool:
    if _BINARY_CONTROLS.search(head):
        return False
    # A window cut inside a multi-byte character is still text.
    candidates = [head] if complete else [head[: len(head) - cut] for cut in range(4)]
    for candidate in candidates:
        try:
            candidate.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


_OOXML = (
    (b"word/vbaProject.bin", "application/vnd.ms-word.document.macroenabled.12"),
    (b"xl/vbaProject.bin", "application/vnd.ms-excel.sheet.macroenabled.12"),
    (b"ppt/vbaProject.bin", "application/vnd.ms-powerpoint.presentation.macroenabled.12"),
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)
_ODF = re.compile(rb"^mimetype(application/vnd\.oasis\.opendocument\.[a-z.-]{1,40})")
_BMFF_BRANDS = {
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
}


def _container(head: bytes) -> str | None:
    """Zip and ISO media files, told apart by what is inside (puremagic guesses at these)."""
    if head.startswith(b"PK\x03\x04"):
        odf = _ODF.match(head[30:])
        if odf is not None:
            return odf.group(1).decode()
        # The entries of an office document come first; a macro project makes it another type.
        for marker, mime in _OOXML:
            if marker in head:
                return mime
        return "application/zip"
    if head[4:8] == b"ftyp":
        return _BMFF_BRANDS.get(head[8:12], "video/mp4")
    return None


def _signature(head: bytes) -> str | None:
    container = _container(head)
    if container is not None:
        return container
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:  # best first
        if match.mime_type:
            mime = str(match.mime_type).lower()
            return _ALIASES.get(mime, mime)
    return None


def sniff(head: bytes, *, complete: bool = False) -> str:
    """The media type of content starting with `head` (`complete`: `head` is all of it)."""
    if not head:
        return "application/x-empty"
    body = _strip_bom(head)
    markup = _markup(body)
    if markup is not None:
        return markup
    signature = _signature(head)
    if signature is not None and signature != "text/plain":
        return signature
    if _is_text(body, complete=complete):
        return "text/plain"
    return "application/octet-stream"
