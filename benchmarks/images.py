"""What compressing a 12-megapixel photo costs: images per second.

Makes a 4000 x 3000 JPEG (a gradient with noise, like a photo's texture), then times, in
process on one thread, the compressor's own work (`sixty.images.codec.compress`: decode, orient,
resize, strip, encode) for each scenario, beside Pillow alone doing the plainest same job (open,
save). Then the same through the app's endpoint (`POST /api/images/compress` over ASGI, multipart
parsing and the worker-thread hop included), with as many requests in flight as the app lets
work at once (`SIXTY_IMAGES_MAX_CONCURRENT`).

    .venv/bin/python benchmarks/images.py [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 4000, 3000


@dataclass(frozen=True)
class Scenario:
    name: str
    output: str
    width: int | None
    quality: int


SCENARIOS = (
    Scenario("12MP JPEG -> WebP, full size", "webp", None, 80),
    Scenario("12MP JPEG -> JPEG, full size", "jpeg", None, 82),
    Scenario("12MP JPEG -> WebP, 1920 wide", "webp", 1920, 80),
    Scenario("12MP JPEG -> JPEG, 1920 wide", "jpeg", 1920, 82),
)


@dataclass(frozen=True)
class Timing:
    scenario: str
    images_per_s: float
    seconds_per_image: float
    output_bytes: int
    pillow_only_images_per_s: float | None  # open + save, no resize, same format and quality


def photo() -> bytes:
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    noise = Image.effect_noise((WIDTH, HEIGHT), 30)
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _pillow_only(source: bytes, scenario: Scenario) -> None:
    with Image.open(io.BytesIO(source)) as image:
        image.save(io.BytesIO(), scenario.output.upper(), quality=scenario.quality)


def time_codec(source: bytes, scenario: Scenario, rounds: int) -> Timing:
    from sixty.images import codec

    request = codec.Request(
        output=scenario.output,  # type: ignore[arg-type]
        width=scenario.width,
        height=scenario.width,
        fit="fit",
        quality=scenario.quality,
        target_bytes=None,
        keep_metadata=False,
    )
    jpeg = codec.CODECS["jpeg"]
    started = time.perf_counter()
    for _ in range(rounds):
        result = codec.compress(io.BytesIO(source), jpeg, request, max_pixels=40_000_000)
    seconds = (time.perf_counter() - started) / rounds
    pillow: float | None = None
    if scenario.width is None:
        started = time.perf_counter()
        for _ in range(rounds):
            _pillow_only(source, scenario)
        pillow = round(rounds / (time.perf_counter() - started), 3)
    return Timing(scenario.name, round(1 / seconds, 3), round(seconds, 3), len(result.data), pillow)


async def time_endpoint(source: bytes, rounds: int) -> dict[str, object]:
    from httpx import ASGITransport, AsyncClient

    from sixty.core import migrate
    from sixty.core.config import Settings
    from sixty.main import create_app

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            env="test",
            secret_key="benchmark-" + "x" * 40,
            data_dir=Path(data_dir),
            modules=["images"],
            ratelimit_enabled=False,
            access_log=False,
            jobs_run_in_app=False,
            _env_file=None,
        )
        await asyncio.to_thread(migrate.upgrade, settings)
        app = create_app(settings)
        in_flight = settings.images_max_concurrent
        count = max(rounds, in_flight) * in_flight
        async with app.router.lifespan_context(app):
            transport = ASGITransport(app=app)
            async with AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
                semaphore = asyncio.Semaphore(in_flight)

                async def one() -> int:
                    async with semaphore:
                        response = await client.post(
                            "/api/images/compress",
                            files={"file": ("photo.jpg", source, "image/jpeg")},
                            data={"format": "webp", "width": "1920", "quality": "80"},
                        )
                    response.raise_for_status()
                    return len(response.content)

                started = time.perf_counter()
                sizes = await asyncio.gather(*(one() for _ in range(count)))
                seconds = time.perf_counter() - started
    return {
        "scenario": "POST /api/images/compress 12MP JPEG -> WebP 1920 wide",
        "requests": count,
        "in_flight": in_flight,
        "images_per_s": round(count / seconds, 3),
        "output_bytes": sizes[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="compressions per scenario (default 3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    source = photo()
    print(f"source: {WIDTH} x {HEIGHT} JPEG, {len(source) / 1e6:.1f} MB")
    timings = [time_codec(source, scenario, args.rounds) for scenario in SCENARIOS]
    for timing in timings:
        pillow = (
            f"   (Pillow open+save alone: {timing.pillow_only_images_per_s:.2f}/s)"
            if timing.pillow_only_images_per_s
            else ""
        )
        print(
            f"{timing.scenario:34} {timing.images_per_s:6.2f} images/s  "
            f"{timing.seconds_per_image:6.3f} s each  {timing.output_bytes / 1e3:8.0f} kB{pillow}"
        )
    endpoint = asyncio.run(time_endpoint(source, args.rounds))
    print(f"{endpoint['scenario']}: {endpoint['images_per_s']} images/s ({endpoint['in_flight']} at once)")
    if args.json:
        print(json.dumps({"codec": [asdict(timing) for timing in timings], "endpoint": endpoint}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
