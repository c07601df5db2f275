"""How far each queued or running job of this process has got: a small thread-safe registry.

Jobs are keyed as the worker pool keys them: (kind, region, name), kind being the Store kind
(`transcription-job`, `medical-transcription-job`). The job services register a job at Start
(and at a restart's resume), the pipeline marks it running, reports the fraction of its audio
transcribed as faster-whisper yields segments, and removes it when it ends. Nothing here is
durable or shown on the AWS API: it feeds the console and the health endpoint.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

JobKey = tuple[str, str, str]  # (kind, region, name)


@dataclass
class _Entry:
    status: str  # QUEUED | IN_PROGRESS
    progress: float  # 0..1, the fraction of the job's audio transcribed


class JobProgress:
    """Queued and running jobs with their progress (0..1). Thread-safe; insertion order."""

    def __init__(self) -> None:
        self._jobs: dict[JobKey, _Entry] = {}
        self._lock = threading.Lock()

    def start(self, key: JobKey, status: str = "QUEUED") -> None:
        """Registers a job (again) at progress 0; status QUEUED or IN_PROGRESS."""
        with self._lock:
            self._jobs.pop(key, None)
            self._jobs[key] = _Entry(status, 0.0)

    def running(self, key: JobKey) -> None:
        """The job has a worker: IN_PROGRESS, progress kept (registered if it was not)."""
        with self._lock:
            entry = self._jobs.setdefault(key, _Entry("IN_PROGRESS", 0.0))
            entry.status = "IN_PROGRESS"

    def update(self, key: JobKey, fraction: float) -> None:
        """Sets the fraction transcribed (clamped to 0..1; never moves back). Unknown jobs
        (deleted meanwhile) are ignored."""
        fraction = min(1.0, max(0.0, fraction))
        with self._lock:
            entry = self._jobs.get(key)
            if entry is not None:
                entry.progress = max(entry.progress, fraction)

    def finish(self, key: JobKey) -> None:
        """Forgets the job (ended, deleted, or found gone). Idempotent."""
        with self._lock:
            self._jobs.pop(key, None)

    def get(self, key: JobKey) -> float | None:
        """The job's fraction transcribed; None when it is not queued or running here."""
        with self._lock:
            entry = self._jobs.get(key)
            return entry.progress if entry else None

    def snapshot(self) -> list[dict]:
        """[{"name", "kind", "region", "status", "progress"}] of every queued or running job,
        oldest registration first; progress 0..1, rounded to 3 places."""
        with self._lock:
            return [
                {"name": name, "kind": kind, "region": region, "status": e.status, "progress": round(e.progress, 3)}
                for (kind, region, name), e in self._jobs.items()
            ]


def scaled(report: Callable[[float], None], start: float, end: float) -> Callable[[float], None]:
    """A progress callback for one pass that covers [start, end] of a whole job: the pass's
    own fraction f (0..1) is reported as start + f * (end - start)."""
    return lambda fraction: report(start + min(1.0, max(0.0, fraction)) * (end - start))
