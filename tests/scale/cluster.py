"""Processes of a scaled deployment for the tests: `transcribe-emulator worker` children, and
direct reads of the shared job store (claims and revisions are not on the AWS API)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.support import EMULATOR_BIN

JOB = "transcription-job"


class WorkerProcess:
    """`transcribe-emulator worker` in a child process, ready once it logs its start line."""

    def __init__(self, data_dir: Path, database_url: str, s3_endpoint: str, lease_seconds: float = 5):
        self.data_dir = data_dir
        self.args = [
            str(EMULATOR_BIN), "worker",
            "--database-url", database_url,
            "--s3-endpoint", s3_endpoint,
            "--data-dir", str(data_dir),
            "--lease-seconds", str(lease_seconds),
            # One CTranslate2 thread each: several workers share this machine's cores, and
            # oversubscribed OpenMP threads spin instead of working.
            "--cpu-threads", "1",
        ]
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> "WorkerProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.log_tail()}")
            if "transcription worker" in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker did not start:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def claim_pids(record) -> list[int]:
    """The PIDs of the workers that claimed a job, in order (tokens are host:pid:uuid)."""
    return [int(claim["Worker"].split(":")[1]) for claim in record.internal.get("Claims", [])]
