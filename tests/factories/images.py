"""Images for tests, made with Pillow in memory (and a hand-built PNG that lies about its size)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def picture(width: int, height: int, *, mode: str = "RGB") -> Image.Image:
    """A gradient with some structure, so encoders have something to work on (and quality matters)."""
    image = Image.linear_gradient("L").resize((width, height))
    if mode == "L":
        return image
    other = image.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    rgb = Image.merge("RGB", (image, other, noise))
    if mode == "RGBA":
        rgba = rgb.convert("RGBA")
        rgba.putalpha(image)
        return rgba
    return rgb.convert(mode) if mode != "RGB" else rgb


def encode(image: Image.Image, format: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def jpeg(width: int = 800, height: int = 600, *, quality: int = 95, **options: object) -> bytes:
    return encode(picture(width, height), "JPEG", quality=quality, **options)


def png(width: int = 400, height: int = 300, *, mode: str = "RGB") -> bytes:
    return encode(picture(width, height, mode=mode), "PNG")


def jpeg_with_exif(width: int, height: int, *, orientation: int = 1, gps: bool = True) -> bytes:
    """A JPEG whose EXIF has a camera make, an orientation and (by default) a GPS position."""
    exif = Image.Exif()
    exif[MAKE] = "Sixty Camera"
    exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return encode(picture(width, height), "JPEG", quality=90, exif=exif)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid-looking PNG of a few dozen bytes declaring `width` x `height` pixels: decoding it
    would take gigabytes (the rows compress to almost nothing)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = zlib.compress(b"\x00" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")
