"""Real content for previews: photos with an EXIF orientation, PNGs with alpha, PDFs (plain,
encrypted, broken), and the bad inputs (a corrupt JPEG, a PNG that declares 10 gigapixels)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def photo(width: int = 400, height: int = 200, *, orientation: int | None = None, quality: int = 85) -> bytes:
    """A JPEG: its top half red, its bottom half blue; `orientation` goes in its EXIF."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width, height // 2))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x010F] = "Sixty test camera"  # Make: metadata that must not reach the preview
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def big_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A 12-megapixel JPEG as heavy as a camera's (a fractal under sensor-like noise: a few MB),
    for the benchmark."""
    shape = Image.effect_mandelbrot((width, height), (-2.2, -1.2, 1.0, 1.2), 60).convert("RGB")
    noise = Image.merge("RGB", [Image.effect_noise((width, height), 48) for _ in range(3)])
    image = Image.blend(shape, noise, 0.35)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def transparent_png(width: int = 300, height: int = 300) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((0, 200, 0, 255), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def corrupt_jpeg() -> bytes:
    """A JPEG's signature and the start of its header, then noise."""
    return photo()[:40] + bytes(range(256)) * 8


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring `width` x `height` pixels (10 gigapixels: 30 GB decoded) over a
    few hundred bytes of compressed zeros: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(bytes(64 * 1024), 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def _pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(objects) + 1) + trailer + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _page_objects(width: int, height: int) -> list[bytes]:
    drawing = b"1 0 0 rg 0 0 %d %d re f" % (width, height // 2)  # the bottom half red
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>" % (width, height),
        b"<< /Length %d >>\nstream\n" % len(drawing) + drawing + b"\nendstream",
    ]


def document(width: int = 200, height: int = 100) -> bytes:
    """A one-page PDF, `width` x `height` points, its bottom half red."""
    return _pdf(_page_objects(width, height))


def encrypted_document() -> bytes:
    """A PDF under the standard security handler with a user password (not the empty one)."""
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>"
    ids = b"/ID [<" + b"33" * 16 + b"> <" + b"33" * 16 + b">] "
    return _pdf([*_page_objects(200, 100), encrypt], b"/Encrypt 5 0 R " + ids)


def broken_document() -> bytes:
    """A PDF's signature, then nothing a PDF reader can use."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
