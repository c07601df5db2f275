"""Runs the emulator: the embedded S3 server (unless one is configured), then the app under hypercorn.

hypercorn serves HTTP/1.1 and h2c on the API port, and HTTP/2 (ALPN h2), HTTP/1.1 and
WebSocket over TLS on the streaming ports (https_port, websocket_port; certificate from
emulator.storage.tls); SIGINT/SIGTERM stop it gracefully.
Jobs still running at shutdown stay IN_PROGRESS in the store and resume at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

import emulator
from emulator import logs, startup
from emulator.app import build_runtime, create_app
from emulator.config import Settings
from emulator.storage.seaweed import EmbeddedS3, SeaweedPorts
from emulator.storage.tls import TlsFiles
from emulator.streaming import goaway

log = logging.getLogger("emulator")


def _hypercorn_config(settings: Settings, tls: TlsFiles | None = None) -> HypercornConfig:
    """Plain port: HTTP/1.1 + h2c. With `tls`: the TLS ports (ALPN h2 and http/1.1) as `bind`,
    the plain port as `insecure_bind` (hypercorn's split), every port serving the same app."""
    config = HypercornConfig()
    tls_ports = [p for p in (settings.https_port, settings.websocket_port) if p] if tls else []
    if tls_ports:
        config.certfile = str(tls.certfile)
        config.keyfile = str(tls.keyfile)
        config.bind = [f"{settings.host}:{p}" for p in dict.fromkeys(tls_ports)]
        config.insecure_bind = [f"{settings.host}:{settings.port}"]
    else:
        config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # through emulator.logs' handler, once
    config.graceful_timeout = 2.0
    return config


# After SIGINT/SIGTERM hypercorn closes connections gracefully for config.graceful_timeout;
# a TLS peer that never answers the close (a hung client) could hold it for asyncio's 30 s SSL
# shutdown timeout, so the server gets this much longer at most, then the process ends anyway.
SHUTDOWN_GRACE = 1.0  # seconds beyond graceful_timeout


async def _serve(app, config: HypercornConfig) -> None:
    """Serves until SIGINT/SIGTERM, then waits at most graceful_timeout + SHUTDOWN_GRACE."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = asyncio.ensure_future(hypercorn_serve(app, config, shutdown_trigger=stop.wait))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({server, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        server.result()  # a server that ended by itself (say, a bind error): raise its exception
        return
    await asyncio.wait({server}, timeout=config.graceful_timeout + SHUTDOWN_GRACE)


def _run_until_stopped(main) -> None:
    """Like asyncio.run, without its teardown: tasks still closing connections after the
    deadline are left behind, since the process ends next (see run())."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main)


# Job threads run faster-whisper's Python-side work (tokens, word alignment) while holding
# the GIL; a shorter switch interval than CPython's 5 ms lets the event loop answer API
# calls sooner while jobs run (measured in bench/batch.py: GetTranscriptionJob p99).
GIL_SWITCH_INTERVAL = 0.001  # seconds


def run(settings: Settings) -> None:
    """Checks, starts the embedded S3 (unless --s3-endpoint), serves until SIGINT/SIGTERM,
    stops the S3 server, and ends the process with status 0. Raises StartupError (before
    anything started) for a taken port, an unwritable data dir, a bad store or missing models.

    The process ends with os._exit: job threads may be inside CTranslate2 at that moment,
    and the C++ runtime's exit-time destructors would abort it ("terminate called without
    an active exception", status 134). Every acknowledged write is already durable (SQLite
    WAL, synchronous=FULL) and unfinished jobs resume at the next start.
    """
    logs.configure(settings.log_level, settings.log_format)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    goaway.install()  # JS SDK clients send GOAWAY while their stream goes on (emulator/streaming/goaway.py)
    requested = settings
    settings = startup.check(settings)
    for name in ("https_port", "websocket_port"):
        if getattr(requested, name) and not getattr(settings, name):
            log.warning("port %d is in use: streaming over TLS is off on it (set --%s)",
                        getattr(requested, name), name.replace("_", "-"))
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
    else:
        s3_endpoint = settings.s3_endpoint
    try:
        runtime = build_runtime(settings, s3_endpoint)
        if embedded and runtime.health:
            # A dead SeaweedFS shows in health at once and is started again; the next s3 probe
            # (within its 5 s interval) clears the reason once it answers.
            embedded.watch(on_exit=lambda why: runtime.health.fail("s3", why))
        streaming = ""
        if runtime.tls:
            ports = [p for p in (settings.https_port, settings.websocket_port) if p]
            ca = runtime.tls.ca_file.resolve() if runtime.tls.ca_file else runtime.tls.certfile
            streaming = (f"; streaming over TLS on {', '.join(f'https://{settings.host}:{p}' for p in dict.fromkeys(ports))}"
                         f" (clients trust {ca} via SSL_CERT_FILE or NODE_EXTRA_CA_CERTS)")
        log.info(
            "Amazon Transcribe emulator %s on http://%s:%d; S3 %s%s; data %s%s",
            emulator.__version__,
            settings.host,
            settings.port,
            s3_endpoint,
            f" (embedded SeaweedFS, pid {embedded.pid})" if embedded else "",
            settings.data_dir.resolve(),
            streaming,
        )
        _run_until_stopped(_serve(create_app(runtime), _hypercorn_config(settings, runtime.tls)))
        if runtime.health:
            runtime.health.stop()
        if runtime.events:
            runtime.events.stop()  # sends the events still queued (a few seconds at most)
        log.info("stopped; unfinished jobs resume at the next start")
    finally:
        if embedded:
            embedded.stop(timeout=2)
    logging.shutdown()
    os._exit(0)
