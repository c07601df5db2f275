"""JobProgress for an API-only node (`serve --workers 0`): the jobs queued and running across
the deployment, read from the store (the shared queue), not from this process's memory.

The health endpoint and the console read progress on the event loop, so the store is read
by a daemon thread every REFRESH_SECONDS and they get its last answer (never a database
round trip, nor a wait on a database that is down). Worker processes keep their own
JobProgress with the fraction transcribed; this view shows each unfinished job with its
status and progress 0 (writing a fraction per segment would put a write per second per job
on the database).
"""

from __future__ import annotations

import threading
import time

from emulator.service.progress import JobKey, JobProgress
from emulator.storage.store import Store, StoreUnavailable

UNFINISHED = ("QUEUED", "IN_PROGRESS")
REFRESH_SECONDS = 2.0


class StoreProgress(JobProgress):
    """Registrations are ignored (the store is the registry); snapshot() and get() answer from
    the last read of the store, at most REFRESH_SECONDS old (empty until the first read)."""

    def __init__(self, store: Store, kinds: tuple[str, ...]):
        super().__init__()
        self.store = store
        self.kinds = kinds
        self._last: list[dict] = []
        self._started = False
        self._start_lock = threading.Lock()

    def start(self, key: JobKey, status: str = "QUEUED") -> None:
        pass

    def running(self, key: JobKey) -> None:
        pass

    def update(self, key: JobKey, fraction: float) -> None:
        pass

    def finish(self, key: JobKey) -> None:
        pass

    def get(self, key: JobKey) -> float | None:
        """0.0 for a job queued or running anywhere (as last read); None otherwise."""
        found = any((j["kind"], j["region"], j["name"]) == key for j in self.snapshot())
        return 0.0 if found else None

    def snapshot(self) -> list[dict]:
        """[{"name", "kind", "region", "status", "progress"}] of every unfinished job, oldest
        first, as last read from the store."""
        self._ensure_refresher()
        return list(self._last)

    def _ensure_refresher(self) -> None:
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._refresh_loop, name="progress-refresh", daemon=True).start()

    def _refresh_loop(self) -> None:
        while True:
            try:
                self._last = self._read()
            except StoreUnavailable:  # health reports the store itself; keep the last answer
                pass
            time.sleep(REFRESH_SECONDS)

    def _read(self) -> list[dict]:
        records = [r for kind in self.kinds for r in self.store.with_status(kind, UNFINISHED)]
        records.sort(key=lambda r: (r.creation_time, r.name))
        return [
            {"name": r.name, "kind": r.kind, "region": r.region, "status": r.status, "progress": 0.0}
            for r in records
        ]
