"""`transcribe-emulator worker`: a transcription worker with no API. It claims jobs (every job
family), vocabularies and language models from the shared job store (--database-url, normally
PostgreSQL) and reads and writes media and transcripts on the shared S3 (--s3-endpoint), until
SIGINT/SIGTERM. API nodes (`serve --workers 0`) take the requests; docs/SCALING.md has the
topology and how leases make a dead worker's job run again on another one.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import emulator
from emulator import logs, startup
from emulator.app import Runtime, build_runtime
from emulator.config import Settings
from emulator.service.worker import ClaimQueue, ClaimWorker
from emulator.storage.store import Record

log = logging.getLogger("emulator")


def claim_queues(runtime: Runtime) -> list[ClaimQueue]:
    """What a worker claims, in this order: jobs of every family (QUEUED, or IN_PROGRESS whose
    lease lapsed), then each background-processed family's pending records."""
    runners = runtime.runners
    clock = runtime.jobs.clock

    def start_job(record: Record) -> None:
        record.status = record.doc[runners[record.kind].status_member] = "IN_PROGRESS"
        record.doc.setdefault("StartTime", clock())

    queues = [
        ClaimQueue(
            tuple(runners),
            lambda record: runners[record.kind]((record.region, record.name)),
            queued=("QUEUED",),
            running=("IN_PROGRESS",),
            start=start_job,
        )
    ]
    for family in runtime.processed:
        queues.append(ClaimQueue((family.kind,), family.process_claimed, running=(family.pending,)))
    return queues


def run(settings: Settings) -> None:
    """Checks (data dir for scratch files and models, the store, the model files), then claims
    and runs work on `settings.workers` threads (at least 1) until SIGINT/SIGTERM; ends the
    process with status 0 (os._exit, as `serve` does: job threads may be inside CTranslate2).
    Work still running then keeps its lease until it lapses; another worker takes it over.
    Raises StartupError."""
    logs.configure(settings.log_level, settings.log_format)
    sys.setswitchinterval(0.001)
    if not settings.s3_endpoint:
        raise startup.StartupError("a worker needs the API nodes' S3: pass --s3-endpoint (e.g. http://minio:9000)")
    settings = settings.model_copy(update={"workers": max(1, settings.workers), "https_port": 0, "websocket_port": 0})
    startup.check_worker(settings)
    runtime = build_runtime(settings, settings.s3_endpoint, worker_process=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # Claim nothing until the model is loaded: a job claimed meanwhile would wait here while
    # ready workers could run it.
    while not (runtime.health.ready or stop.is_set() or runtime.health.status()[0] == "degraded"):
        stop.wait(0.1)
    worker = ClaimWorker(
        runtime.store, claim_queues(runtime), threads=settings.workers, lease_seconds=settings.lease_seconds
    ).start()
    log.info(
        "transcription worker %s (%s, %d thread%s) on job store %s; S3 %s",
        emulator.__version__, worker.worker, settings.workers, "s" if settings.workers > 1 else "",
        runtime.store.where, settings.s3_endpoint,
    )
    stop.wait()
    worker.stop()
    log.info("worker stopped after %d claims; its running work is claimed again once its lease lapses", worker.claims)
    logging.shutdown()
    os._exit(0)
