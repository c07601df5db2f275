"""Where jobs run: the in-process worker pool of the embedded default, and the claim workers of
a scaled deployment (API nodes and worker processes on one database, docs/SCALING.md).

WorkerPool: FIFO on daemon threads, never on the event loop. A job reserved while fewer than
`workers` jobs are in flight starts at once (AWS shows it IN_PROGRESS); later ones wait
(QUEUED) until a worker is free. Daemon threads let the process exit mid-job; the job is still
IN_PROGRESS in the store and is resumed at the next start. With workers=0 (an API node: `serve
--workers 0`) the pool runs nothing: the store row is the queue, and claim workers take it.

ClaimWorker: threads that claim work from the store (Store.claim: SELECT ... FOR UPDATE SKIP
LOCKED), hold a lease on it that a renewer thread extends every LEASE_SECONDS / 3 while it
runs, and run it with the claim token current (`current_lease`), so the job's state moves
only while the claim holds (Store.modify(lease_owner=...)). A worker that dies stops renewing;
once its lease expires another worker claims the job again and runs it from the start.
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Hashable

from emulator.storage.store import Record, Store, StoreUnavailable

log = logging.getLogger(__name__)

LEASE_SECONDS = 30.0  # a dead worker's job is claimed again this long after its last renewal
POLL_SECONDS = 0.5  # an idle claim worker looks for work this often


class WorkerPool:
    def __init__(
        self,
        workers: int,
        run: Callable[[Hashable], None],
        name: str = "job-worker",
        in_flight: Callable[[], int] | None = None,
    ):
        """workers=0: run nothing here (claim workers elsewhere run the jobs); `in_flight` then
        counts the jobs in flight across the deployment (from the store)."""
        self.workers = workers
        self._run = run
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._in_flight = 0  # reserved, queued or running
        self._count = in_flight
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def local(self) -> bool:
        """Whether this pool runs what is submitted to it (False on an API-only node)."""
        return self.workers > 0

    def reserve(self) -> bool:
        """Claims a place in line; True when the job will start at once. Pair with submit() or release()."""
        if not self.local:
            return False  # queued in the store until a claim worker takes it
        with self._lock:
            starts_now = self._in_flight < self.workers
            self._in_flight += 1
            return starts_now

    def release(self) -> None:
        """Gives back a reservation that was not submitted."""
        if not self.local:
            return
        with self._lock:
            self._in_flight -= 1

    def submit(self, key: Hashable) -> None:
        if self.local:
            self._queue.put(key)

    @property
    def in_flight(self) -> int:
        if self._count is not None:
            return self._count()
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


# --- claims -------------------------------------------------------------------------------

_LEASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("lease_owner", default=None)


def current_lease() -> str | None:
    """The claim token of the work this thread runs for a ClaimWorker; None in the in-process
    pool (no claims there). Pipelines pass it to Store.modify for their final state move."""
    return _LEASE.get()


@dataclass(frozen=True)
class ClaimQueue:
    """One kind of claimable work: rows of `kinds` whose status is in `queued`, or in `running`
    with no live lease; `start` edits the record as it is claimed (None: no change); `run(record)`
    does the work (it ends the row's status itself)."""

    kinds: tuple[str, ...]
    run: Callable[[Record], None]
    queued: tuple[str, ...] = ()
    running: tuple[str, ...] = ()
    start: Callable[[Record], None] | None = None


def worker_id() -> str:
    """host:pid, the prefix of this process's claim tokens (names the worker in leases and logs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class ClaimWorker:
    """`threads` claim loops over `queues` (tried in order, jobs first). Each claim gets a
    token `host:pid:uuid`; the record's `internal["Claims"]` keeps who claimed it and when.
    stats: claims made and the seconds spent in Store.claim (the claim overhead)."""

    def __init__(
        self,
        store: Store,
        queues: list[ClaimQueue],
        threads: int = 1,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.queues = queues
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.worker = worker_id()
        self._stop = threading.Event()
        self._stats_lock = threading.Lock()
        self.claims = 0
        self.claim_seconds = 0.0
        self._threads = [
            threading.Thread(target=self._loop, name=f"claim-worker-{i}", daemon=True) for i in range(threads)
        ]

    def start(self) -> "ClaimWorker":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 0) -> None:
        """Stops claiming; work in progress goes on unless the process ends (its lease then
        lapses and another worker takes it over)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        waiting = False  # the store failed the last claim: logged once per outage
        while not self._stop.is_set():
            try:
                worked = self.run_once()
                if waiting:
                    log.info("claim worker: the job store answers again")
                    waiting = False
            except StoreUnavailable as e:  # the database is down or restarting: try again soon
                if not waiting:
                    log.warning("claim worker waits for the job store: %s", e.message)
                    waiting = True
                worked = False
            except Exception:  # a last guard: the loop must go on
                log.exception("claim worker error")
                worked = False
            if not worked:
                self._stop.wait(self.poll_seconds)

    def run_once(self) -> bool:
        """Claims and runs one piece of work; False when nothing waited."""
        for claim_queue in self.queues:
            token = f"{self.worker}:{uuid.uuid4().hex[:12]}"
            began = time.perf_counter()
            record = self.store.claim(
                claim_queue.kinds,
                token,
                self.lease_seconds,
                queued=claim_queue.queued,
                running=claim_queue.running,
                change=self._starter(claim_queue, token),
            )
            with self._stats_lock:
                self.claim_seconds += time.perf_counter() - began
                self.claims += record is not None
            if record is not None:
                self._run(claim_queue, record, token)
                return True
        return False

    def _starter(self, claim_queue: ClaimQueue, token: str) -> Callable[[Record], None]:
        def start(record: Record) -> None:
            record.internal.setdefault("Claims", []).append({"Worker": token, "At": round(self.clock(), 3)})
            if claim_queue.start:
                claim_queue.start(record)

        return start

    def _run(self, claim_queue: ClaimQueue, record: Record, token: str) -> None:
        claims = len(record.internal.get("Claims", []))
        log.info("claimed %s %s (claim %d) as %s", record.kind, record.name, claims, token)
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(record, token, done), name=f"lease-{record.name}", daemon=True
        )
        renewer.start()
        context = contextvars.copy_context()
        context.run(_LEASE.set, token)
        try:
            context.run(claim_queue.run, record)
        finally:
            done.set()
            try:  # a run that moved the row on has no lease left; one that did not gives it back now
                self.store.release(record.kind, record.region, record.name, token)
            except StoreUnavailable:
                pass  # the lease lapses by itself

    def _renew(self, record: Record, token: str, done: threading.Event) -> None:
        """Extends the lease every lease_seconds / 3 until `done`; a lease found lost is logged
        once (the run's final write will then be refused: Store.modify raises LeaseLost)."""
        while not done.wait(self.lease_seconds / 3):
            try:
                if not self.store.renew(record.kind, record.region, record.name, token, self.lease_seconds):
                    if not done.is_set():
                        log.warning("lost the lease on %s %s (%s): another worker may run it", record.kind,
                                    record.name, token)
                    return
            except StoreUnavailable as e:
                log.warning("cannot renew the lease on %s %s: %s", record.kind, record.name, e.message)
