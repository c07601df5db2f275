"""Checks made before anything starts: ports, data dir, job store, model files.

Each failure is a StartupError whose message is one line that names the problem and the
flag or action that fixes it; the CLI prints it and exits with status 2, no traceback.
The emulator never adopts a server it did not start: a taken port is refused here, before
the embedded S3 server is launched (a second SeaweedFS would fail to bind while the first
one answered its readiness probe).
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from emulator.config import Settings
from emulator.storage.database import is_sqlite
from emulator.storage.models import ModelError, ModelStore
from emulator.storage.seaweed import SeaweedPorts
from emulator.storage.store import StoreError, check_database, check_server

STORE_FILE = "emulator.sqlite3"


class StartupError(Exception):
    """The emulator cannot start as configured; str() is the one-line message for the user."""


def port_free(host: str, port: int) -> bool:
    """True when a TCP listener could bind host:port now (SO_REUSEADDR, as servers bind)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _check_ports(settings: Settings) -> Settings:
    """Refuses a taken API port, embedded S3 port or explicitly asked-for TLS port; a default
    TLS port (4443, 8443) that is taken is turned off instead, since streaming over TLS is an
    extra. Returns the settings with such ports set to 0."""
    wanted: list[tuple[int, str, str]] = [(settings.port, settings.host, "--port")]
    if settings.embedded_s3:
        try:
            ports = SeaweedPorts.from_base(settings.s3_port)
        except ValueError as e:
            raise StartupError(f"{e} (change --s3-port)") from None
        # SeaweedFS binds every port on 127.0.0.1 (emulator/storage/seaweed.py).
        wanted += [(p, "127.0.0.1", "--s3-port") for p in ports.all()]
    update = {}
    for name in ("https_port", "websocket_port"):
        port = getattr(settings, name)
        flag = "--" + name.replace("_", "-")
        if not port:
            continue
        if name in settings.model_fields_set:
            wanted.append((port, settings.host, flag))
        elif not port_free(settings.host, port):
            update[name] = 0  # the caller logs that streaming over TLS is off on it
    for port, host, flag in wanted:
        if not port_free(host, port):
            what = "the embedded S3 server (SeaweedFS uses --s3-port to --s3-port+8 and +10008)" if (
                flag == "--s3-port"
            ) else flag
            raise StartupError(f"port {port} on {host} is already in use, needed for {what}: change {flag}")
    return settings.model_copy(update=update) if update else settings


def _check_data_dir(settings: Settings) -> None:
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-"):
            pass
    except OSError as e:
        raise StartupError(
            f"the data dir {data_dir.resolve()} is not writable ({e.strerror}): fix its permissions or pass --data-dir"
        ) from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StartupError(f"the data dir {data_dir.resolve()} is not writable: fix its permissions or pass --data-dir")


def check(settings: Settings) -> Settings:
    """Every start-up check, in order; returns the settings to run with (default TLS ports
    that are taken turned off). Raises StartupError."""
    settings = _check_ports(settings)
    _check_data_dir(settings)
    _check_store(settings)
    _check_models(settings)
    return settings


def check_worker(settings: Settings) -> None:
    """The checks of `transcribe-emulator worker` (no ports: it serves nothing). StartupError."""
    _check_data_dir(settings)
    _check_store(settings)
    _check_models(settings)


def _check_store(settings: Settings) -> None:
    """The SQLite file must be this emulator's and intact; another database must be reachable."""
    url = settings.effective_database_url()
    try:
        if is_sqlite(url):
            check_database(Path(url.removeprefix("sqlite:///")))
        else:
            check_server(url)
    except StoreError as e:
        raise StartupError(str(e)) from None


def _check_models(settings: Settings) -> None:
    try:
        ModelStore(settings.effective_model_store_dir(), settings.effective_models_dir()).check_installed()
    except ModelError as e:
        raise StartupError(str(e)) from None
