"""Upload and download throughput of the file store, and the server's memory while it moves them.

One uvicorn worker (production settings, local storage backend) on a fresh data directory:

- upload of one file of `--file-mib` MiB (default 1024) as a raw body, then its download,
  each beside a plain `cp` of the same file on the same disk;
- `--parallel` (20) concurrent uploads of `--parallel-mib` (50) MiB each.

For each, the server's peak resident memory growth: the kernel's high-water mark (`VmHWM`) is
reset before the transfer (`/proc/<pid>/clear_refs`) and read after; growth is that peak minus
the resident size before. The bound is 64 MiB. Run by `make bench` after the load scenarios, or
alone: `.venv/bin/python benchmarks/files.py --file-mib 256`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sixty.cli import EVENT_LOOP

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
MIB = 1024 * 1024
MEMORY_BOUND_MIB = 64
EMAIL = "bench-files@example.com"
PASSWORD = "a long benchmark passphrase " + secrets.token_hex(4)


@dataclass(frozen=True)
class Measure:
    name: str
    mib: float
    seconds: float
    rss_growth_mib: float | None

    def line(self, baseline: float | None = None) -> str:
        rate = self.mib / self.seconds
        ratio = f"{rate / baseline:6.0%} of cp" if baseline else " " * 12
        memory = "" if self.rss_growth_mib is None else f"  peak RSS +{self.rss_growth_mib:6.1f} MiB"
        bound = (
            ""
            if self.rss_growth_mib is None
            else (" ok" if self.rss_growth_mib < MEMORY_BOUND_MIB else " OVER")
        )
        timing = f"{self.mib:8.0f} MiB {self.seconds:7.2f} s {rate:8.1f} MiB/s"
        return f"{self.name:<28} {timing}  {ratio}{memory}{bound}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


@contextmanager
def peak_growth(pid: int) -> Iterator[list[float]]:
    """Yields a list that holds the peak RSS growth in MiB once the block is done."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kib(pid, "VmRSS")
    result: list[float] = []
    yield result
    result.append((_status_kib(pid, "VmHWM") - before) / 1024)


def _request(
    port: int, method: str, path: str, *, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=600, blocksize=MIB)
    try:
        connection.request(method, path, body=body, headers=headers or {})  # type: ignore[arg-type]
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _upload(port: int, token: str, path: Path, name: str) -> dict[str, object]:
    with path.open("rb") as file:
        status, body = _request(
            port,
            "POST",
            f"/api/files?name={name}",
            body=file,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/octet-stream",
                "Content-Length": str(path.stat().st_size),
            },
        )
    if status != 201:
        raise RuntimeError(f"upload answered {status}: {body[:300]!r}")
    answer: dict[str, object] = json.loads(body)
    return answer


def _download(port: int, token: str, file_id: object) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=600)
    try:
        connection.request(
            "GET", f"/api/files/{file_id}/content", headers={"Authorization": f"Bearer {token}"}
        )
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"download answered {response.status}")
        received = 0
        while chunk := response.read(MIB):
            received += len(chunk)
        return received
    finally:
        connection.close()


def _make_file(path: Path, mib: int, seed: int) -> None:
    """Incompressible bytes, different per seed (so deduplication never kicks in)."""
    block = os.urandom(MIB)
    with path.open("wb") as file:
        file.write(b"%PDF-1.7\n" + seed.to_bytes(8, "big"))
        for _ in range(mib):
            file.write(block)


def run(file_mib: int, parallel: int, parallel_mib: int) -> list[str]:
    lines: list[str] = []
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="files-bench-", dir=ROOT / "var") as directory:
        data = Path(directory)
        env = {key: value for key, value in os.environ.items() if not key.startswith("SIXTY_")}
        env.update(
            SIXTY_ENV="production",
            SIXTY_SECRET_KEY=secrets.token_urlsafe(48),
            SIXTY_DATA_DIR=str(data / "var"),
            SIXTY_FILES_MAX_BYTES=str((max(file_mib, parallel_mib) + 1) * MIB),
            # Everything uploaded stays stored: the big file, then the parallel ones.
            SIXTY_FILES_QUOTA_BYTES=str((file_mib + parallel * (parallel_mib + 1) + 1) * MIB),
            SIXTY_RATELIMIT_ENABLED="false",
            SIXTY_ACCESS_LOG="false",
            SIXTY_LOG_LEVEL="WARNING",
            SIXTY_ADMIN_EMAIL=EMAIL,
            SIXTY_ADMIN_PASSWORD=PASSWORD,
        )
        subprocess.run([PYTHON, "-m", "sixty.cli", "migrate"], env=env, check=True, cwd=ROOT)
        port = _free_port()
        log = (data / "server.log").open("wb")
        server = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "sixty.asgi:app",
                "--host",
                HOST,
                "--port",
                str(port),
                "--loop",
                EVENT_LOOP,
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if _request(port, "GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not start: " + (data / "server.log").read_text()[-2000:])
                time.sleep(0.2)
            _status, body = _request(
                port,
                "POST",
                "/api/auth/login",
                body=json.dumps({"email": EMAIL, "password": PASSWORD}),
                headers={"Content-Type": "application/json"},
            )
            token = json.loads(body)["access_token"]

            big = data / "big.bin"
            _make_file(big, file_mib, 0)
            started = time.perf_counter()
            shutil.copyfile(big, data / "copy.bin")
            copy = Measure("cp (same disk)", file_mib, time.perf_counter() - started, None)
            (data / "copy.bin").unlink()
            lines.append(copy.line())
            cp_rate = copy.mib / copy.seconds

            with peak_growth(server.pid) as growth:
                started = time.perf_counter()
                uploaded = _upload(port, token, big, "big.pdf")
                seconds = time.perf_counter() - started
            lines.append(Measure("upload (raw body)", file_mib, seconds, growth[0]).line(cp_rate))
            with peak_growth(server.pid) as growth:
                started = time.perf_counter()
                received = _download(port, token, uploaded["id"])
                seconds = time.perf_counter() - started
            assert received == big.stat().st_size  # noqa: S101 - a benchmark that checks what it moved
            lines.append(Measure("download", file_mib, seconds, growth[0]).line(cp_rate))
            big.unlink()

            files = []
            for index in range(parallel):
                path = data / f"part-{index}.bin"
                _make_file(path, parallel_mib, index + 1)
                files.append(path)
            errors: list[BaseException] = []

            def one(path: Path) -> None:
                try:
                    _upload(port, token, path, path.name)
                except BaseException as error:  # reported below
                    errors.append(error)

            with peak_growth(server.pid) as growth:
                started = time.perf_counter()
                threads = [threading.Thread(target=one, args=(path,)) for path in files]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                seconds = time.perf_counter() - started
            if errors:
                raise RuntimeError(f"parallel uploads failed: {errors[0]}")
            name = f"{parallel} parallel uploads"
            lines.append(Measure(name, parallel * parallel_mib, seconds, growth[0]).line(cp_rate))
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--file-mib", type=int, default=1024, help="size of the single file (default 1024)")
    parser.add_argument("--parallel", type=int, default=20, help="concurrent uploads (default 20)")
    parser.add_argument("--parallel-mib", type=int, default=50, help="size of each (default 50)")
    args = parser.parse_args(argv)
    print("[files] upload/download on the local backend, one uvicorn worker", flush=True)
    for line in run(args.file_mib, args.parallel, args.parallel_mib):
        print(f"[files] {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
