"""Runs the emulator: the embedded S3 server (unless one is configured), then the app under hypercorn.

hypercorn serves HTTP/1.1 and h2c on one port; SIGINT/SIGTERM stop it gracefully.
Jobs still running at shutdown stay IN_PROGRESS in the store and resume at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

from emulator.app import build_runtime, create_app
from emulator.config import Settings
from emulator.storage.seaweed import EmbeddedS3, SeaweedPorts

log = logging.getLogger("emulator")


def _hypercorn_config(settings: Settings) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.errorlog = "-"
    config.graceful_timeout = 2.0
    return config


async def _serve(app, config: HypercornConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await hypercorn_serve(app, config, shutdown_trigger=stop.wait)


# Job threads run faster-whisper's Python-side work (tokens, word alignment) while holding
# the GIL; a shorter switch interval than CPython's 5 ms lets the event loop answer API
# calls sooner while jobs run (measured in bench/batch.py: GetTranscriptionJob p99).
GIL_SWITCH_INTERVAL = 0.001  # seconds


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded: EmbeddedS3 | None = None
    if settings.embedded_s3:
        embedded = EmbeddedS3(
            settings.data_dir / "s3",
            SeaweedPorts.from_base(settings.s3_port),
            settings.s3_access_key or settings.access_key,
            settings.s3_secret_key or settings.secret_key,
        )
        embedded.start()
        s3_endpoint = embedded.endpoint
        log.info("embedded S3 (SeaweedFS, pid %s) at %s", embedded.pid, s3_endpoint)
    else:
        s3_endpoint = settings.s3_endpoint
    try:
        runtime = build_runtime(settings, s3_endpoint)
        log.info(
            "Amazon Transcribe emulator on http://%s:%d (S3 %s, data %s)",
            settings.host,
            settings.port,
            s3_endpoint,
            settings.data_dir.resolve(),
        )
        asyncio.run(_serve(create_app(runtime), _hypercorn_config(settings)))
    finally:
        if embedded:
            embedded.stop(timeout=3)
