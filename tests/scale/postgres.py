"""A throw-away PostgreSQL cluster for the scale tests: initdb in a temp dir, trust auth, a free
port, listen_addresses=127.0.0.1, started and stopped with pg_ctl (as the `postgres` user
when run as root: PostgreSQL refuses to run as root), the postmaster found by its PID."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import free_port


def pg_bin(tool: str) -> str | None:
    """`initdb`/`pg_ctl` on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which(tool)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


class PostgresCluster:
    """initdb + pg_ctl; `url(db)` is a postgresql:// URL for database `db` (user postgres)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="scale-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            self._ensure_user()
            shutil.chown(self.dir, "postgres", "postgres")

    @staticmethod
    def _ensure_user() -> None:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", "postgres", "--", *args] if self._as_postgres else list(args)
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> "PostgresCluster":
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        done = self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start",
                         check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{self.log.read_text(errors='replace')[-3000:]}")

    @property
    def pid(self) -> int | None:
        """The postmaster's PID (first line of postmaster.pid), None when it is not running."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop; if it fails, SIGQUIT (immediate shutdown) to the postmaster by its PID."""
        pid = self.pid
        done = self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        if done.returncode != 0 and pid:
            try:
                os.kill(pid, signal.SIGQUIT)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.pid == pid:
                time.sleep(0.1)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
