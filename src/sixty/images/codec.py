"""The Pillow work of the compressor: decode under limits, orient, resize, encode, and search a
quality for a byte budget. Blocking and CPU-heavy: the service runs it in worker threads.

Safety, in the order it happens:
1. The caller has sniffed the first bytes (core/sniff.py); only the decoder of that one format
   is allowed to open the file (`Image.open(..., formats=[...])`), so a file named `.png` is
   never handed to another of Pillow's many decoders.
2. Opening reads the header only. The declared size is checked against `max_pixels` before a
   single pixel is decoded: a small file declaring 50,000 x 50,000 pixels (a decompression bomb)
   is refused there. Pillow's own `DecompressionBombWarning` is raised as an error too (see
   `warnings.filterwarnings` below), in case its own, higher limit is met first.
3. Only the first frame of an animation is decoded. A truncated or corrupt file fails in the
   decoder (`LOAD_TRUNCATED_IMAGES` stays off) and is refused.

Metadata: EXIF orientation is applied to the pixels, then EXIF, XMP, comments and text chunks are
dropped (GPS above all). With `keep_metadata`, EXIF is kept without its GPS directory. The ICC
colour profile is always kept: without it colours would shift.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import cache
from typing import IO, Literal

from PIL import Image, ImageOps, UnidentifiedImageError, features

from sixty.core.errors import Unprocessable
from sixty.core.i18n import N_


def refuse_bomb_warnings() -> None:
    """Process-wide: a decompression bomb warning is an error, never merely logged (called on
    import and again when the app is made, in case the filters were reset in between)."""
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


refuse_bomb_warnings()

Fit = Literal["fit", "fill"]
OutputFormat = Literal["jpeg", "png", "webp", "avif"]


@dataclass(frozen=True)
class Codec:
    name: str  # ours: jpeg, png, webp, avif, gif
    pillow: str  # Pillow's format name
    media_type: str
    extension: str
    lossy: bool
    default_quality: int | None
    feature: str | None  # Pillow feature that must be compiled in


CODECS: dict[str, Codec] = {
    codec.name: codec
    for codec in (
        Codec("jpeg", "JPEG", "image/jpeg", "jpg", True, 82, "jpg"),
        Codec("png", "PNG", "image/png", "png", False, None, "zlib"),
        Codec("webp", "WEBP", "image/webp", "webp", True, 80, "webp"),
        Codec("avif", "AVIF", "image/avif", "avif", True, 60, "avif"),
        Codec("gif", "GIF", "image/gif", "gif", False, None, None),
    )
}
OUTPUTS = ("jpeg", "png", "webp", "avif")
BY_MEDIA_TYPE = {codec.media_type: codec for codec in CODECS.values()}
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def _supported(codec: Codec) -> bool:
    if codec.feature is not None and not features.check(codec.feature):
        return False
    registry = Image.registered_extensions()
    return f".{codec.extension}" in registry


@cache
def available_inputs() -> list[Codec]:
    """What this Pillow can read, among the formats we accept."""
    return [codec for codec in CODECS.values() if _supported(codec) and codec.pillow in Image.OPEN]


@cache
def available_outputs() -> list[Codec]:
    """What this Pillow can write, among the formats we offer (AVIF only when built in)."""
    return [
        CODECS[name] for name in OUTPUTS if _supported(CODECS[name]) and CODECS[name].pillow in Image.SAVE
    ]


# --- errors ----------------------------------------------------------------------------------------


class InvalidImage(Unprocessable):
    code = "invalid_image"


class ImageTooLarge(Unprocessable):
    code = "image_too_large"


class TargetUnreachable(Unprocessable):
    code = "target_unreachable"


def invalid_image() -> InvalidImage:
    return InvalidImage(N_("The file is not a readable image: it is corrupt or truncated."))


def too_many_pixels(width: int, height: int, limit: int) -> ImageTooLarge:
    return ImageTooLarge(
        N_("The image declares {width} x {height} pixels; at most {limit} pixels are accepted."),
        width=width,
        height=height,
        limit=limit,
    )


# --- the work --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    output: OutputFormat | None  # None: the input's format (PNG for a GIF)
    width: int | None
    height: int | None
    fit: Fit
    quality: int | None
    target_bytes: int | None
    keep_metadata: bool


@dataclass(frozen=True)
class Result:
    data: bytes
    codec: Codec
    width: int
    height: int
    quality: int | None
    source_width: int
    source_height: int


def _box(
    size: tuple[int, int], width: int | None, height: int | None, fit: Fit
) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """The size to scale to, and (fill) the box to crop that to."""
    source_w, source_h = size
    if width is None and height is None:
        return size, None
    if fit == "fill" and width is not None and height is not None:
        scale = max(width / source_w, height / source_h)
        scaled = (max(width, round(source_w * scale)), max(height, round(source_h * scale)))
        return scaled, (width, height)
    # fit: inside the box, never enlarged
    scale = min(
        (width / source_w) if width is not None else 1.0,
        (height / source_h) if height is not None else 1.0,
        1.0,
    )
    return (max(1, round(source_w * scale)), max(1, round(source_h * scale))), None


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(ORIENTATION, 1)
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def open_image(file: IO[bytes], codec: Codec, *, max_pixels: int) -> Image.Image:
    """The image's header, read by `codec`'s decoder only; refused when it declares too many pixels."""
    try:
        image = Image.open(file, formats=[codec.pillow])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(
            N_("The image declares more pixels than are accepted ({limit})."), limit=max_pixels
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise invalid_image() from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise too_many_pixels(width, height, max_pixels)
    if width < 1 or height < 1:
        image.close()
        raise invalid_image()
    return image


def _pixels(image: Image.Image, output: Codec) -> Image.Image:
    """Modes the encoder takes: JPEG has no alpha (flattened on white); 16-bit greys scaled down."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if output.name == "jpeg":
        if has_alpha:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
    if has_alpha:
        return image if image.mode == "RGBA" else image.convert("RGBA")
    if output.name == "png" and image.mode in ("L", "RGB", "P"):
        return image
    return image if image.mode == "RGB" else image.convert("RGB")


def _encode(image: Image.Image, codec: Codec, quality: int | None, extra: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = dict(extra)
    if codec.name == "jpeg":
        options.update(quality=quality, optimize=True, progressive=True)
    elif codec.name == "webp":
        options.update(quality=quality, method=4)
    elif codec.name == "avif":
        options.update(quality=quality, speed=8)
    elif codec.name == "png":
        options.update(compress_level=6)  # 9 and `optimize` cost twice the time for ~5% fewer bytes
    image.save(buffer, format=codec.pillow, **options)
    return buffer.getvalue()


def _search(
    image: Image.Image, codec: Codec, target: int, ceiling: int, extra: dict[str, object]
) -> tuple[bytes, int]:
    """The highest quality in 1..ceiling whose encoding fits in `target` bytes (binary search:
    size grows with quality)."""
    low, high = 1, ceiling
    best: tuple[bytes, int] | None = None
    smallest: int | None = None
    while low <= high:
        middle = (low + high) // 2
        data = _encode(image, codec, middle, extra)
        if len(data) <= target:
            best = (data, middle)
            low = middle + 1
        else:
            smallest = len(data) if smallest is None else min(smallest, len(data))
            high = middle - 1
    if best is None:
        raise TargetUnreachable(
            N_(
                "The image cannot be made as small as {target} bytes in {format}: the smallest is {smallest}."
            ),
            target=target,
            format=codec.name,
            smallest=smallest,
            extensions={"smallest_bytes": smallest},
        )
    return best


def compress(file: IO[bytes], source: Codec, request: Request, *, max_pixels: int) -> Result:
    """Decode `file` (its format sniffed as `source`), orient, resize, strip, encode."""
    output = (
        CODECS[request.output] if request.output else (source if source.name in OUTPUTS else CODECS["png"])
    )
    with open_image(file, source, max_pixels=max_pixels) as image:
        try:
            source_size = _oriented_size(image)
            scaled, crop = _box(source_size, request.width, request.height, request.fit)
            if image.format == "JPEG" and scaled != source_size:
                # Decode at a fraction of the size straight from the DCT (at least the size asked).
                raw = (scaled[1], scaled[0]) if source_size != image.size else scaled
                image.draft(image.mode, raw)
            image.load()
            exif = image.getexif()
            oriented = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge(
                N_("The image declares more pixels than are accepted ({limit})."), limit=max_pixels
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise invalid_image() from None
        icc = image.info.get("icc_profile")
    working = oriented
    if working.size != scaled:
        working = working.resize(scaled, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if crop is not None and working.size != crop:
        left = (working.width - crop[0]) // 2
        top = (working.height - crop[1]) // 2
        working = working.crop((left, top, left + crop[0], top + crop[1]))
    working = _pixels(working, output)
    working.info = {}  # nothing of the source's metadata rides along unasked
    extra: dict[str, object] = {}
    if icc:
        extra["icc_profile"] = icc
    if request.keep_metadata and len(exif):
        exif.pop(ORIENTATION, None)  # applied to the pixels
        exif.pop(GPS_IFD, None)
        if len(exif):
            extra["exif"] = exif.tobytes()
    quality = (request.quality or output.default_quality) if output.lossy else None
    if request.target_bytes is not None:
        if output.lossy:
            data, quality = _search(working, output, request.target_bytes, request.quality or 95, extra)
        else:
            data = _encode(working, output, None, extra)
            if len(data) > request.target_bytes:
                raise TargetUnreachable(
                    N_(
                        "The image cannot be made as small as {target} bytes in {format}: the smallest "
                        "is {smallest}. Ask for a lossy format (webp, jpeg, avif)."
                    ),
                    target=request.target_bytes,
                    format=output.name,
                    smallest=len(data),
                    extensions={"smallest_bytes": len(data)},
                )
    else:
        data = _encode(working, output, quality, extra)
    return Result(
        data=data,
        codec=output,
        width=working.width,
        height=working.height,
        quality=quality,
        source_width=source_size[0],
        source_height=source_size[1],
    )
