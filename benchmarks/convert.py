"""What a large JSON-to-CSV conversion costs the server: resident memory and throughput.

Generates an NDJSON file (500 MB unless told), starts the app (convert module only) under
uvicorn pinned to CPU 0, posts the file streamed from disk, reads the CSV as a stream, and
samples the server's /proc/<pid>/status all along. Prints the server's peak resident memory
above its idle level (sampled VmRSS, and the change in VmHWM) and its throughput in MB of
input per second, beside Python's own csv module writing the same rows to /dev/null in
process: once with the records parsed and flattened as they are read (the same work, minus
HTTP, spooling and validation), once writing rows already in memory (csv alone, on a sample).

    .venv/bin/python benchmarks/convert.py [--mb 500] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU, CLIENT_CPU = 0, 1
MB = 1_000_000
READ_BYTES = 1 << 20
CSV_SAMPLE_MB = 50  # rows held in memory for the csv-only figure


@dataclass(frozen=True)
class ConvertResult:
    input_mb: float
    records: int
    csv_mb: float
    seconds: float
    server_mb_per_s: float
    idle_rss_mb: float
    peak_rss_growth_mb: float  # highest sampled VmRSS minus the idle VmRSS
    hwm_growth_mb: float  # VmHWM after minus VmHWM before the conversion
    pipeline_mb_per_s: float  # in process: json.loads + flatten + csv.writer to /dev/null
    csv_only_mb_per_s: float  # in process: csv.writer of rows already in memory, per input MB


def record(index: int) -> dict[str, Any]:
    return {
        "id": index,
        "name": f"Customer {index}",
        "email": f"customer{index}@example.com",
        "address": {"street": f"{index % 997} Long Road", "city": "Lyon", "geo": {"lat": 45.76, "lon": 4.83}},
        "tags": ["retail", "priority", f"t{index % 13}"],
        "balance": f"{index % 10_000}.{index % 100:02d}",
        "active": index % 3 != 0,
        "note": None if index % 5 else "=call back",
    }


def generate(path: Path, megabytes: int) -> int:
    """Writes NDJSON records until the file holds `megabytes`; returns how many."""
    target = megabytes * MB
    count = 0
    with path.open("wb") as file:
        while file.tell() < target:
            file.write(b"".join(json.dumps(record(count + i)).encode() + b"\n" for i in range(10_000)))
            count += 10_000
    return count


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict):
            row.update(flatten(item, name))
        elif isinstance(item, list):
            row[name] = "|".join(str(element) for element in item)
        else:
            row[name] = item
    return row


def in_process(path: Path) -> tuple[float, float]:
    """MB/s of json.loads + flatten + csv.writer to /dev/null, and of csv.writer alone."""
    size = path.stat().st_size
    started = time.perf_counter()
    with path.open("rb") as source, open(os.devnull, "w", newline="") as sink:
        writer = csv.writer(sink)
        columns: list[str] | None = None
        for line in source:
            row = flatten(json.loads(line))
            if columns is None:
                columns = list(row)
                writer.writerow(columns)
            writer.writerow([row.get(column, "") for column in columns])
    pipeline = size / MB / (time.perf_counter() - started)
    rows: list[list[Any]] = []
    sample = 0
    with path.open("rb") as source:
        for line in source:
            sample += len(line)
            rows.append(list(flatten(json.loads(line)).values()))
            if sample >= CSV_SAMPLE_MB * MB:
                break
    started = time.perf_counter()
    with open(os.devnull, "w", newline="") as sink:
        csv.writer(sink).writerows(rows)
    return pipeline, sample / MB / (time.perf_counter() - started)


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class Sampler(threading.Thread):
    """The highest VmRSS of a process, read every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(READ_BYTES):
            yield chunk


def serve(workdir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "SIXTY_MODULES": "convert",
        "SIXTY_DATA_DIR": str(workdir),
        "SIXTY_CONVERT_SPOOL_DIR": str(workdir),
        "SIXTY_ACCESS_LOG": "false",
        "SIXTY_LOG_LEVEL": "WARNING",
        "SIXTY_RATELIMIT_ENABLED": "false",
        "SIXTY_JOBS_RUN_IN_APP": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "sixty.asgi:app", "--port", str(port), "--no-access-log"]
    taskset = shutil.which("taskset")
    if taskset:
        command = [taskset, "-c", str(SERVER_CPU), *command]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def bench_convert(megabytes: int) -> ConvertResult:
    if CLIENT_CPU in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {CLIENT_CPU})  # the client and the in-process figures: not the server's core
    with tempfile.TemporaryDirectory(prefix="sixty-convert-bench-") as directory:
        workdir = Path(directory)
        source = workdir / "records.ndjson"
        print(f"[convert] writing {megabytes} MB of NDJSON...", file=sys.stderr)
        records = generate(source, megabytes)
        size = source.stat().st_size
        server, base = serve(workdir, workdir / "server.log")
        try:
            headers = {"content-type": "application/x-ndjson", "accept-encoding": "identity"}
            warmup = b"".join(json.dumps(record(i)).encode() + b"\n" for i in range(1000))
            httpx.post(f"{base}/api/convert/json-to-csv", content=warmup, headers=headers).raise_for_status()
            idle_kib = status_kib(server.pid, "VmRSS")
            hwm_before = status_kib(server.pid, "VmHWM")
            sampler = Sampler(server.pid)
            sampler.start()
            print(f"[convert] posting {size / MB:.0f} MB ({records:,} records)...", file=sys.stderr)
            started = time.perf_counter()
            csv_bytes = 0
            with (
                httpx.Client(timeout=httpx.Timeout(600.0)) as client,
                client.stream(
                    "POST", f"{base}/api/convert/json-to-csv", content=chunks(source), headers=headers
                ) as response,
            ):
                response.raise_for_status()
                for chunk in response.iter_raw():
                    csv_bytes += len(chunk)
            seconds = time.perf_counter() - started
            sampler.done.set()
            sampler.join()
            hwm_after = status_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=10)
        print("[convert] the same rows with Python's csv module, in process...", file=sys.stderr)
        pipeline, csv_only = in_process(source)
    return ConvertResult(
        input_mb=round(size / MB, 1),
        records=records,
        csv_mb=round(csv_bytes / MB, 1),
        seconds=round(seconds, 1),
        server_mb_per_s=round(size / MB / seconds, 1),
        idle_rss_mb=round(idle_kib / 1024, 1),
        peak_rss_growth_mb=round((sampler.peak_kib - idle_kib) / 1024, 1),
        hwm_growth_mb=round((hwm_after - hwm_before) / 1024, 1),
        pipeline_mb_per_s=round(pipeline, 1),
        csv_only_mb_per_s=round(csv_only, 1),
    )


def describe(result: ConvertResult) -> str:
    return (
        f"json-to-csv: {result.input_mb:g} MB NDJSON ({result.records:,} records) -> "
        f"{result.csv_mb:g} MB CSV "
        f"in {result.seconds:g} s: {result.server_mb_per_s:g} MB/s through the server; "
        f"in process: {result.pipeline_mb_per_s:g} MB/s parse+flatten+csv, {result.csv_only_mb_per_s:g} MB/s "
        f"csv alone\nserver resident memory: idle {result.idle_rss_mb:g} MB, peak growth "
        f"{result.peak_rss_growth_mb:g} MB (VmHWM +{result.hwm_growth_mb:g} MB); target < 100 MB: "
        f"{'met' if result.peak_rss_growth_mb < 100 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=500, help="size of the NDJSON input (default 500)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on the last line")
    args = parser.parse_args()
    result = bench_convert(args.mb)
    print(describe(result))
    if args.json:
        print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
