"""Thumbnails per second for 12-megapixel JPEGs: the preview job's rendering (files/previews.py,
decoding at a reduced scale with `Image.draft`) beside a plain Pillow thumbnail that decodes every
pixel first, on the same photos in the same run; WebP and JPEG output. One thread, as the job
renders one preview at a time per worker.

    .venv/bin/python benchmarks/previews.py [--photos N] [--seconds S] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `tests.factories` importable

from tests.factories.previews import big_photo  # noqa: E402

from sixty.files.previews import PreviewOptions, render  # noqa: E402


def full_decode(data: bytes, options: PreviewOptions) -> bytes:
    """The baseline: decode all 12 million pixels, then shrink (what a thumbnail costs without draft)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((options.size, options.size), Image.Resampling.LANCZOS, reducing_gap=2.0)
        out = io.BytesIO()
        upright.convert("RGB").save(out, options.image_format.upper(), quality=options.quality)
        return out.getvalue()


def rate(step: Callable[[bytes], object], photos: list[bytes], seconds: float) -> float:
    """Thumbnails per second, cycling through the photos for at least `seconds`."""
    step(photos[0])  # warm up (codec tables, imports)
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or done < len(photos):
        step(photos[done % len(photos)])
        done += 1
    return done / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=3, help="distinct 4000x3000 JPEGs (default 3)")
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    photos = [big_photo(4000 + index * 8, 3000) for index in range(args.photos)]
    results: dict[str, object] = {
        "photo_pixels": 4000 * 3000,
        "photo_bytes": sum(map(len, photos)) // len(photos),
    }
    for image_format in ("webp", "jpeg"):
        options = PreviewOptions(image_format=image_format)
        results[f"draft_{image_format}_per_s"] = round(
            rate(partial(render, content_type="image/jpeg", options=options), photos, args.seconds), 1
        )
        results[f"full_decode_{image_format}_per_s"] = round(
            rate(partial(full_decode, options=options), photos, args.seconds), 1
        )
    for image_format in ("webp", "jpeg"):
        draft = float(str(results[f"draft_{image_format}_per_s"]))
        full = float(str(results[f"full_decode_{image_format}_per_s"]))
        results[f"speedup_{image_format}"] = round(draft / full, 1)
    if args.json:
        print(json.dumps(results))
    else:
        print("previews: 256 px thumbnails of 12-megapixel JPEGs, one thread")
        for name, value in results.items():
            print(f"  {name:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
