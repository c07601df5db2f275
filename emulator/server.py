"""Runs the emulator: the embedded S3 server (unless one is configured), then the app under hypercorn.

hypercorn serves HTTP/1.1 and h2c on the API port, and HTTP/2 (ALPN h2), HTTP/1.1 and
WebSocket over TLS on the streaming ports (https_port, websocket_port; certificate from
emulator.storage.tls); SIGINT/SIGTERM stop it gracefully.
Jobs still running at shutdown stay IN_PROGRESS in the store and resume at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

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


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _usable_tls_ports(settings: Settings) -> Settings:
    """The TLS ports are extras with fixed defaults (4443, 8443): one that is taken (say, by
    another emulator) is turned off with a warning instead of stopping the API."""
    update = {}
    for name in ("https_port", "websocket_port"):
        port = getattr(settings, name)
        if port and not _port_free(settings.host, port):
            log.warning("%s %d is in use: streaming over TLS is off on it (set --%s)", name, port,
                        name.replace("_", "-"))
            update[name] = 0
    return settings.model_copy(update=update) if update else settings


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    goaway.install()  # JS SDK clients send GOAWAY while their stream goes on (emulator/streaming/goaway.py)
    settings = _usable_tls_ports(settings)
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
        if runtime.tls:
            ports = [p for p in (settings.https_port, settings.websocket_port) if p]
            log.info(
                "streaming over TLS (HTTP/2, WebSocket) on %s; clients trust %s (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS)",
                ", ".join(f"https://{settings.host}:{p}" for p in dict.fromkeys(ports)),
                runtime.tls.ca_file.resolve() if runtime.tls.ca_file else runtime.tls.certfile,
            )
        asyncio.run(_serve(create_app(runtime), _hypercorn_config(settings, runtime.tls)))
    finally:
        if embedded:
            embedded.stop(timeout=3)
