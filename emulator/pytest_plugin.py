"""pytest plugin (entry point `pytest11`): a real Transcribe emulator for your test suite.

    def test_transcribes(transcribe_emulator, transcribe_bucket):
        s3 = transcribe_emulator.client("s3")
        s3.upload_file("clip.wav", transcribe_bucket, "clip.wav")
        transcribe = transcribe_emulator.client("transcribe")
        transcribe.start_transcription_job(TranscriptionJobName="t1", LanguageCode="en-US",
                                           Media={"MediaFileUri": f"s3://{transcribe_bucket}/clip.wav"})
        job = transcribe_emulator.wait_for_job("t1")
        assert job["TranscriptionJobStatus"] == "COMPLETED"

Fixtures (lazy: nothing starts unless a test asks for one):

- `transcribe_emulator` (session): with TRANSCRIBE_EMULATOR_URL set, the emulator there;
  else `transcribe-emulator serve` started on free loopback ports with a temporary data dir,
  stopped (SIGTERM to its PID) when the session ends. Its attributes: `endpoint_url` (the API,
  which also answers S3: one endpoint), `s3_endpoint_url`, `region`, `access_key`,
  `secret_key`, `client(service_name, **kw)` (a boto3 client with all of these set) and
  `wait_for_job(name, timeout=300, kind="TranscriptionJob")` (the Get<kind> answer's job once
  COMPLETED or FAILED; TimeoutError otherwise).
- `transcribe_bucket` (function): a fresh S3 bucket's name, emptied and deleted after the test.

Credentials and region come from TRANSCRIBE_EMULATOR_ACCESS_KEY / _SECRET_KEY / _REGION when
set (the variables the emulator itself reads), else the emulator's defaults (test, test,
us-east-1). boto3 is imported only when a fixture is used (it is a dependency of your tests,
not of the emulator).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

URL_VARIABLE = "TRANSCRIBE_EMULATOR_URL"
START_TIMEOUT = 180.0  # seconds until health answers (the first start assembles and loads a model)
_SEAWEED_SPAN = (range(0, 9), 10008)  # ports the embedded SeaweedFS takes above its base (storage/seaweed.py)


@dataclass
class TranscribeEmulator:
    """A running emulator as a test suite sees it. `process`: the child this plugin started
    (None when attached to TRANSCRIBE_EMULATOR_URL)."""

    endpoint_url: str
    region: str = "us-east-1"
    access_key: str = "test"
    secret_key: str = "test"
    process: subprocess.Popen | None = None
    data_dir: Path | None = None
    _clients: dict = field(default_factory=dict, repr=False)

    @property
    def s3_endpoint_url(self) -> str:
        """S3 on the same port: the API passes S3 requests to the emulator's S3 server."""
        return self.endpoint_url

    def client(self, service_name: str, **kw):
        """A boto3 client of the emulator (`transcribe`, `s3`, ...); `kw` overrides any argument."""
        import boto3

        arguments = dict(
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )
        return boto3.client(service_name, **{**arguments, **kw})

    def wait_for_job(self, name: str, timeout: float = 300, kind: str = "TranscriptionJob") -> dict:
        """Polls Get<kind> (TranscriptionJob, MedicalTranscriptionJob, CallAnalyticsJob,
        MedicalScribeJob) until COMPLETED or FAILED and returns the job; TimeoutError after
        `timeout` seconds."""
        if kind not in self._clients:
            self._clients[kind] = self.client("transcribe")
        snake = "".join("_" + c.lower() if c.isupper() else c for c in kind)[1:]
        operation = getattr(self._clients[kind], "get_" + snake)
        deadline = time.monotonic() + timeout
        while True:
            job = operation(**{f"{kind}Name": name})[kind]
            status = job[f"{kind}Status"]
            if status in ("COMPLETED", "FAILED"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"{kind} {name} is still {status} after {timeout:.0f} s")
            time.sleep(0.25)


def port_is_free(port: int) -> bool:
    """True when 127.0.0.1:`port` can be bound now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def any_free_port() -> int:
    """A port the kernel finds free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux ip_local_port_range; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_s3_base() -> int:
    """A base port whose SeaweedFS block (base..base+8 and base+10008) is free, the whole block
    below the kernel's ephemeral range where it can: the kernel hands ephemeral ports to outgoing
    connections, which can take one between this check and SeaweedFS's bind (seen in CI:
    "s3 failed to listen on grpc port ...: address already in use")."""
    offsets, grpc = _SEAWEED_SPAN
    top = _ephemeral_low() - grpc - 1
    for _ in range(500):
        base = random.randrange(10000, top) if top > 11000 else any_free_port()
        if base + grpc < 65536 and all(port_is_free(base + o) for o in [*offsets, grpc]):
            return base
    raise RuntimeError("transcribe-emulator: no free block of ports for the embedded S3 server")


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/_emulator/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def start_emulator(data_dir: Path, timeout: float = START_TIMEOUT) -> TranscribeEmulator:
    """`transcribe-emulator serve` on free loopback ports with `data_dir`; returns once its
    health answers 200 (models loaded). RuntimeError with the log's tail if it does not."""
    port = any_free_port()
    args = [
        sys.executable, "-m", "emulator.cli", "serve",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--s3-port", str(free_s3_base()),
        "--https-port", str(any_free_port()),
        "--websocket-port", str(any_free_port()),
        "--data-dir", str(data_dir),
    ]
    log_path = data_dir.parent / "emulator.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    emulator = TranscribeEmulator(
        f"http://127.0.0.1:{port}",
        region=os.environ.get("TRANSCRIBE_EMULATOR_REGION", "us-east-1"),
        access_key=os.environ.get("TRANSCRIBE_EMULATOR_ACCESS_KEY", "test"),
        secret_key=os.environ.get("TRANSCRIBE_EMULATOR_SECRET_KEY", "test"),
        process=process,
        data_dir=data_dir,
    )
    deadline = time.monotonic() + timeout
    while not _healthy(emulator.endpoint_url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_emulator(emulator)
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"transcribe-emulator did not start (log {log_path}):\n{tail}")
        time.sleep(0.2)
    return emulator


def stop_emulator(emulator: TranscribeEmulator) -> None:
    """SIGTERM to the process this plugin started, SIGKILL if it has not ended in 20 s."""
    process = emulator.process
    if process is None or process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture(scope="session")
def transcribe_emulator():
    """The emulator for this test session (see the module docstring)."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield TranscribeEmulator(
            url.rstrip("/"),
            region=os.environ.get("TRANSCRIBE_EMULATOR_REGION", "us-east-1"),
            access_key=os.environ.get("TRANSCRIBE_EMULATOR_ACCESS_KEY", "test"),
            secret_key=os.environ.get("TRANSCRIBE_EMULATOR_SECRET_KEY", "test"),
        )
        return
    with tempfile.TemporaryDirectory(prefix="transcribe-emulator-") as scratch:
        emulator = start_emulator(Path(scratch) / "data")
        try:
            yield emulator
        finally:
            stop_emulator(emulator)


@pytest.fixture
def transcribe_bucket(transcribe_emulator):
    """A new, empty bucket's name; its objects and the bucket are deleted after the test."""
    s3 = transcribe_emulator.client("s3")
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", ()):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)
