"""JobProgress for an API-only node (`serve --workers 0`): the jobs queued and running across
the deployment, read from the store (the shared queue), not from this process's memory.

Worker processes keep their own JobProgress with the fraction transcribed; this view shows
each unfinished job with its status and progress 0 (IN_PROGRESS jobs have no shared fraction:
writing one per segment would put a write per second per job on the database).
"""

from __future__ import annotations

from emulator.service.progress import JobKey, JobProgress
from emulator.storage.store import Store, StoreUnavailable

UNFINISHED = ("QUEUED", "IN_PROGRESS")


class StoreProgress(JobProgress):
    """Registrations are ignored (the store is the registry); snapshot() and get() read the store."""

    def __init__(self, store: Store, kinds: tuple[str, ...]):
        super().__init__()
        self.store = store
        self.kinds = kinds

    def start(self, key: JobKey, status: str = "QUEUED") -> None:
        pass

    def running(self, key: JobKey) -> None:
        pass

    def update(self, key: JobKey, fraction: float) -> None:
        pass

    def finish(self, key: JobKey) -> None:
        pass

    def get(self, key: JobKey) -> float | None:
        """0.0 for a job that is queued or running anywhere; None otherwise (or the store is down)."""
        kind, region, name = key
        try:
            record = self.store.get(kind, region, name)
        except StoreUnavailable:
            return None
        return 0.0 if record is not None and record.status in UNFINISHED else None

    def snapshot(self) -> list[dict]:
        """[{"name", "kind", "region", "status", "progress"}] of every unfinished job, oldest
        first; [] while the store is down (health reports the store itself)."""
        try:
            records = [r for kind in self.kinds for r in self.store.with_status(kind, UNFINISHED)]
        except StoreUnavailable:
            return []
        records.sort(key=lambda r: (r.creation_time, r.name))
        return [
            {"name": r.name, "kind": r.kind, "region": r.region, "status": r.status, "progress": 0.0}
            for r in records
        ]
