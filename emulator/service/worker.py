"""The worker pool: jobs run on daemon threads, never on the event loop.

FIFO: a job reserved while fewer than `workers` jobs are in flight starts at once
(AWS shows it IN_PROGRESS); later ones wait (QUEUED) until a worker is free.
Daemon threads let the process exit mid-job; the job is still IN_PROGRESS in the
store and is resumed at the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Hashable

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, workers: int, run: Callable[[Hashable], None], name: str = "job-worker"):
        self.workers = workers
        self._run = run
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._in_flight = 0  # reserved, queued or running
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def reserve(self) -> bool:
        """Claims a place in line; True when the job will start at once. Pair with submit() or release()."""
        with self._lock:
            starts_now = self._in_flight < self.workers
            self._in_flight += 1
            return starts_now

    def release(self) -> None:
        """Gives back a reservation that was not submitted."""
        with self._lock:
            self._in_flight -= 1

    def submit(self, key: Hashable) -> None:
        self._queue.put(key)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _loop(self) -> None:
        while True:
            key = self._queue.get()
            try:
                self._run(key)
            except Exception:  # the pipeline records failures itself; this is a last guard
                log.exception("job %s crashed its worker", key)
            finally:
                self.release()
