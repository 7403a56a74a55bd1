"""I13 previews: the rendering, with no database and no storage. Blocking and CPU-bound: the job
runs it on a thread (files/preview_service.py).

- Images (Pillow): a thumbnail whose longer side is at most `size` pixels, as WebP or JPEG. The
  pixel count is read from the header and checked against `max_pixels` before anything is
  decoded (a small file that declares 100 000 x 100 000 pixels is a decompression bomb, refused);
  JPEGs are decoded at a reduced scale (`Image.draft`: the decoder skips the detail a thumbnail
  would throw away; benchmarks/previews.py measures it); the EXIF orientation is
  applied, and no metadata (EXIF, GPS, ICC comments) is carried into the preview.
- PDFs (pypdfium2, PDFium under a BSD/Apache licence): the first page rendered at the scale that
  fits it in `size` pixels. An encrypted or broken PDF fails with a reason, never an exception
  that escapes. PDFium is not thread-safe: one render at a time per process.
- Text: the first `lines` lines of at most `max_bytes` bytes, decoded as UTF-8 without cutting a
  character in two (invalid bytes become U+FFFD), control characters but tab removed.
"""

from __future__ import annotations

import codecs
import io
import threading
import warnings
from dataclasses import dataclass
from typing import Literal

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from PIL import Image, ImageOps, UnidentifiedImageError, features

ImageFormat = Literal["webp", "jpeg"]

# What Pillow reads here; AVIF only when the installed Pillow was built with it.
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}
    | ({"image/avif"} if features.check("avif") else set())
)
PDF_TYPES = frozenset({"application/pdf"})
TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "application/json"})
PREVIEWABLE = IMAGE_TYPES | PDF_TYPES | TEXT_TYPES
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
_PDFIUM = threading.Lock()


class PreviewFailed(Exception):
    """The content cannot be previewed; `reason` is a stable code (see REASONS in the service)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rendered:
    data: bytes
    content_type: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class PreviewOptions:
    size: int = 256
    image_format: ImageFormat = "webp"
    quality: int = 80
    max_pixels: int = 50_000_000
    text_lines: int = 20
    text_bytes: int = 4096


def kind_of(content_type: str) -> Literal["image", "pdf", "text"] | None:
    if content_type in IMAGE_TYPES:
        return "image"
    if content_type in PDF_TYPES:
        return "pdf"
    if content_type in TEXT_TYPES:
        return "text"
    return None


def render(data: bytes, content_type: str, options: PreviewOptions) -> Rendered:
    """The preview of `data`, sniffed as `content_type`. Raises PreviewFailed."""
    kind = kind_of(content_type)
    if kind == "image":
        return image_preview(data, options)
    if kind == "pdf":
        return pdf_preview(data, options)
    if kind == "text":
        return text_preview(data, options)
    raise PreviewFailed("unsupported")


# --- images ----------------------------------------------------------------------------------------


def _encode(image: Image.Image, options: PreviewOptions) -> Rendered:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if options.image_format == "webp":
        image = image.convert("RGBA" if has_alpha else "RGB")
    else:  # JPEG has no alpha: flatten onto white
        if has_alpha:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
    out = io.BytesIO()
    if options.image_format == "webp":
        image.save(out, "WEBP", quality=options.quality, method=4)
    else:
        image.save(out, "JPEG", quality=options.quality, optimize=True)
    return Rendered(out.getvalue(), f"image/{options.image_format}", image.width, image.height)


def image_preview(data: bytes, options: PreviewOptions) -> Rendered:
    # Our own limit is checked below, before decoding; Pillow's global one (and its warning) is
    # turned off for this call's open so that the answer is ours, with our reason.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise PreviewFailed("corrupt")
                if width * height > options.max_pixels:
                    raise PreviewFailed("too_many_pixels")
                box = (options.size, options.size)
                if image.format == "JPEG":
                    image.draft("RGB", box)  # decode at 1/2, 1/4 or 1/8 scale, still >= the box
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail(box, Image.Resampling.LANCZOS, reducing_gap=2.0)
                return _encode(upright, options)
        except PreviewFailed:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PreviewFailed("too_many_pixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError):
            raise PreviewFailed("corrupt") from None


# --- PDFs ------------------------------------------------------------------------------------------


def pdf_preview(data: bytes, options: PreviewOptions) -> Rendered:
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            # PDFium says "Incorrect password error" for an encrypted document opened without one.
            raise PreviewFailed("encrypted" if "password" in str(error).lower() else "corrupt") from None
        try:
            if len(document) == 0:
                raise PreviewFailed("empty")
            page = document[0]
            try:
                width, height = page.get_size()
                if width <= 0 or height <= 0:
                    raise PreviewFailed("corrupt")
                scale = options.size / max(width, height)
                bitmap = page.render(scale=scale, may_draw_forms=False)
                try:
                    image = bitmap.to_pil()
                    image.load()
                finally:
                    bitmap.close()
            finally:
                page.close()
        except pdfium.PdfiumError:
            raise PreviewFailed("corrupt") from None
        finally:
            document.close()
    image.thumbnail((options.size, options.size))  # a rounding pixel over, at most
    return _encode(image, options)


# --- text ------------------------------------------------------------------------------------------

_KEEP = {"\t", "\n"}


def text_preview(data: bytes, options: PreviewOptions) -> Rendered:
    head = data[: options.text_bytes]
    # Not final: a character cut by the byte limit is left out rather than replaced.
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=False)
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")[: options.text_lines]
    cleaned = "\n".join(
        "".join(char for char in line if char in _KEEP or char.isprintable() or char == " ") for line in lines
    )
    return Rendered(cleaned.encode("utf-8"), TEXT_MEDIA_TYPE)
