"""S3 through the API port (emulator/s3_proxy.py) against S3 directly: throughput and memory.

    python bench/s3_proxy.py              # 200 MiB up and down, each way twice
    python bench/s3_proxy.py --size 50    # smaller

Run from the repository root with the project's virtualenv (it imports `tests.support`).
One emulator (embedded SeaweedFS); boto3 uploads (multipart, 8 MiB parts) and downloads a
generated file, first on the S3 port, then on the API port. Printed per path and direction:
seconds, MiB/s, and the peak growth of the emulator process's RSS over its value before
(the proxy streams, so it should stay far below the file size). Shared-CPU figures are rough.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def measure(pid: int, action) -> tuple[float, int]:
    """(seconds, peak RSS growth in bytes) of `action()`, RSS sampled every 50 ms."""
    import psutil

    process = psutil.Process(pid)
    baseline, peak, stop = process.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        action()
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
    return elapsed, max(0, peak[0] - baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="MiB to move (default 200)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import boto3

    from tests.support import CREDENTIALS, EmulatorProcess

    with tempfile.TemporaryDirectory() as scratch:
        big = Path(scratch) / "big.bin"
        with open(big, "wb") as f:
            block = os.urandom(1024**2)
            for _ in range(args.size):
                f.write(block)
        process = EmulatorProcess(Path(scratch) / "data", extra_args=["--lazy-models"]).start()
        try:
            print(f"{'path':10s} {'direction':9s} {'seconds':>8s} {'MiB/s':>7s} {'RSS growth MiB':>15s}")
            for label, endpoint in (("S3 port", process.s3_endpoint), ("API port", process.endpoint)):
                s3 = boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)
                bucket = "bench-" + label.split()[0].lower()
                s3.create_bucket(Bucket=bucket)
                for _ in range(args.repeats):
                    for direction, action in (
                        ("up", lambda: s3.upload_file(str(big), bucket, "big.bin")),
                        ("down", lambda: s3.download_file(bucket, "big.bin", str(big) + ".back")),
                    ):
                        seconds, growth = measure(process.proc.pid, action)
                        print(f"{label:10s} {direction:9s} {seconds:8.2f} {args.size / seconds:7.1f} "
                              f"{growth / 1024**2:15.1f}")
        finally:
            process.stop()


if __name__ == "__main__":
    main()
