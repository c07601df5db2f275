"""Readiness and health: `starting` until the models are loaded, `degraded` while S3 or the
job store fail a probe, otherwise `ok` (GET /_emulator/health; not an AWS API).

Probes run on one daemon thread every `interval` seconds, never on the event loop, so the
health answer is immediate even when S3 hangs; each probe has its own short timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

log = logging.getLogger("emulator.health")


class HealthMonitor:
    """probes: name -> callable that raises on failure (e.g. {"s3": objects.ping,
    "store": store.ping}); interval: seconds between rounds."""

    def __init__(self, probes: dict[str, Callable[[], None]], interval: float = 5.0):
        self._probes = probes
        self._interval = interval
        self._ready = threading.Event()
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="health-probes", daemon=True)

    def start(self) -> "HealthMonitor":
        self.probe_once()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def set_ready(self) -> None:
        """The default models are loaded: `starting` ends."""
        if not self._ready.is_set():
            self._ready.set()
            log.info("ready: models loaded")

    def fail(self, name: str, why: str) -> None:
        """A failure that no probe clears (e.g. a model that does not load)."""
        with self._lock:
            self._failures[name] = why
        log.error("degraded: %s: %s", name, why, extra={"fields": {"probe": name, "reason": why}})

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def status(self) -> tuple[str, list[str]]:
        """("starting" | "degraded" | "ok", reasons): degraded wins over starting."""
        with self._lock:
            reasons = [f"{name}: {why}" for name, why in sorted(self._failures.items())]
        if reasons:
            return "degraded", reasons
        return ("ok" if self.ready else "starting"), []

    def probe_once(self) -> None:
        for name, probe in self._probes.items():
            try:
                probe()
            except Exception as e:  # any failure of a dependency is reported, never raised here
                why = str(e) or type(e).__name__
                with self._lock:
                    was = self._failures.get(name)
                    self._failures[name] = why
                if was is None:
                    log.warning("degraded: %s failing: %s", name, why, extra={"fields": {"probe": name, "reason": why}})
            else:
                with self._lock:
                    was = self._failures.pop(name, None)
                if was is not None:
                    log.info("recovered: %s", name, extra={"fields": {"probe": name}})

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            started = time.monotonic()
            self.probe_once()
            log.debug("health probes took %.3f s", time.monotonic() - started)


class HealthReport:
    """The body and status code of GET /_emulator/health (not an AWS API): 200 when ok, 503
    while starting or degraded (Docker's HEALTHCHECK reads the status). Besides the monitor's
    status and reasons, the body names what a developer checks first: version, S3 endpoints,
    the models (catalog and user models, each with its ISO 639-1 languages and whether it is
    loaded), workers, the queued and running jobs, signature checking, the streaming ports,
    the local CA file (absolute path; None without TLS) and the open streams.

    The live parts are read on every call through the callables: `models` gives entries with
    `name` and `languages`, `loaded_models` the names loaded now, `jobs_in_flight` the job
    progress snapshot, `streams_in_flight` the number of open streams.
    """

    def __init__(
        self,
        monitor: HealthMonitor,
        *,
        version: str,
        s3_endpoint: str,
        s3_public_endpoint: str,
        models: Callable[[], Iterable],
        loaded_models: Callable[[], Iterable[str]],
        workers: int,
        jobs_in_flight: Callable[[], list[dict]],
        verify_signatures: bool,
        https_port: int,
        websocket_port: int,
        ca_file: Path | None,
        streams_in_flight: Callable[[], int],
    ):
        self._monitor = monitor
        self._version = version
        self._s3_endpoint = s3_endpoint
        self._s3_public_endpoint = s3_public_endpoint
        self._models = models
        self._loaded_models = loaded_models
        self._workers = workers
        self._jobs_in_flight = jobs_in_flight
        self._verify_signatures = verify_signatures
        self._https_port = https_port
        self._websocket_port = websocket_port
        self._ca_file = ca_file
        self._streams_in_flight = streams_in_flight

    def render(self) -> tuple[dict, int]:
        """(JSON body, HTTP status code); a port of 0 (not served) reads None."""
        # One consistent snapshot: readiness is set just after the preload's model is in memory,
        # so between the two a model can be loaded while the status still says "starting". A
        # report shows what is usable: while starting, no model counts as loaded yet; once the
        # status is read as ok, the models are read after it (models never unload).
        status, reasons = self._monitor.status()
        loaded = set(self._loaded_models()) if self._monitor.ready else set()
        body = {
            "status": status,
            "reasons": reasons,
            "version": self._version,
            "s3_endpoint": self._s3_endpoint,
            "s3_public_endpoint": self._s3_public_endpoint,
            "models": [
                {"name": m.name, "languages": list(m.languages), "loaded": m.name in loaded} for m in self._models()
            ],
            "workers": self._workers,
            "jobs_in_flight": self._jobs_in_flight(),
            "verify_signatures": self._verify_signatures,
            "streaming": {
                "https_port": self._https_port or None,
                "websocket_port": self._websocket_port or None,
                "ca_file": str(self._ca_file.resolve()) if self._ca_file else None,
                "streams_in_flight": self._streams_in_flight(),
            },
        }
        return body, 200 if status == "ok" else 503
