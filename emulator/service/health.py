"""Readiness and health: `starting` until the models are loaded, `degraded` while S3 or the
job store fail a probe, otherwise `ok` (GET /_emulator/health; not an AWS API).

Probes run on one daemon thread every `interval` seconds, never on the event loop, so the
health answer is immediate even when S3 hangs; each probe has its own short timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

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
