"""Test support: a real emulator process on free loopback ports, real clients, the shared audio.

Nothing here is mocked: `EmulatorProcess` runs `transcribe-emulator serve` (hypercorn,
embedded SeaweedFS) exactly as a user does, and stops it by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

from emulator.pytest_plugin import any_free_port, free_s3_base

REPO = Path(__file__).resolve().parents[1]
AUDIO_DIR = Path(os.environ.get("TRANSCRIBE_EMULATOR_TEST_AUDIO", REPO.parent / "shared" / "audio"))
CREDENTIALS = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
EMULATOR_BIN = Path(sys.executable).parent / "transcribe-emulator"


def manifest() -> dict[str, dict]:
    with open(AUDIO_DIR / "manifest.jsonl") as f:
        return {item["id"]: item for item in map(json.loads, f)}


def audio_path(item_id: str) -> Path:
    return AUDIO_DIR / manifest()[item_id]["audio"]


# The ports of test servers: the plugin's choice (below the kernel's ephemeral range where it can).
free_port = any_free_port


class EmulatorProcess:
    """`transcribe-emulator serve` in a child process; env/args as a user would give them.
    Every port is a free one: the API, the embedded S3 and the two TLS streaming ports
    (HTTP/2 and WebSocket)."""

    def __init__(self, data_dir: Path, extra_args: list[str] | None = None, env: dict | None = None):
        self.data_dir = data_dir
        self.port = free_port()
        self.s3_port = free_s3_base()
        self.https_port = free_port()
        self.websocket_port = free_port()
        self.extra_args = extra_args or []
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def https_endpoint(self) -> str:
        """HTTP/2 over TLS (streaming)."""
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def wss_endpoint(self) -> str:
        return f"wss://127.0.0.1:{self.websocket_port}"

    @property
    def ca_file(self) -> Path:
        """The emulator's local CA (from /_emulator/health)."""
        return Path(self.health()["streaming"]["ca_file"])

    def start(self, timeout: float = 90) -> "EmulatorProcess":
        env = {**os.environ, **self.env}
        args = [
            str(EMULATOR_BIN), "serve",
            "--port", str(self.port),
            "--s3-port", str(self.s3_port),
            "--data-dir", str(self.data_dir),
            "--https-port", str(self.https_port),
            "--websocket-port", str(self.websocket_port),
            *self.extra_args,
        ]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.endpoint + "/_emulator/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"emulator did not become healthy:\n{self.log_tail()}")

    def health(self) -> dict:
        return httpx.get(self.endpoint + "/_emulator/health", timeout=5).json()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def transcribe(self, protocol: str = "json", **overrides):
        """A boto3 transcribe client; protocol "cbor" forces Smithy RPC v2 CBOR (`cbor_session`)."""
        session = cbor_session(self.data_dir.parent / "cbor-model") if protocol == "cbor" else boto3
        return session.client(
            "transcribe",
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1}),
            **{**CREDENTIALS, **overrides},
        )

    def s3(self):
        return boto3.client("s3", endpoint_url=self.s3_endpoint, **CREDENTIALS)


def cbor_session(model_dir: Path) -> boto3.session.Session:
    """A boto3 session whose transcribe model lists only `smithy-rpc-v2-cbor`, so its clients
    send RPC v2 CBOR (botocore picks awsJson from the stock model's ["smithy-rpc-v2-cbor", "json"]).

    The installed model is copied to `<model_dir>/transcribe/<api-version>/service-2.json` with
    `metadata.protocols` (and `protocol`) changed, and the session's loader searches `model_dir`
    first: what `AWS_DATA_PATH=<model_dir>` does, without changing this process's environment
    (the emulator's own model, loaded in its process, stays the stock one).
    """
    import botocore.loaders
    import botocore.session

    model = botocore.loaders.Loader().load_service_model("transcribe", "service-2")
    model["metadata"].update(protocol="smithy-rpc-v2-cbor", protocols=["smithy-rpc-v2-cbor"])
    path = model_dir / "transcribe" / model["metadata"]["apiVersion"] / "service-2.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.set_config_variable("data_path", str(model_dir))
    return boto3.session.Session(botocore_session=session)


def wait_for_job(client, name: str, timeout: float = 180, noun: str = "TranscriptionJob") -> dict:
    """Polls Get<noun> (TranscriptionJob, MedicalTranscriptionJob, CallAnalyticsJob) until
    COMPLETED or FAILED; returns the job."""
    get = getattr(client, "get_" + "".join("_" + c.lower() if c.isupper() else c for c in noun).lstrip("_"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get(**{f"{noun}Name": name})[noun]
        if job[f"{noun}Status"] in ("COMPLETED", "FAILED"):
            return job
        time.sleep(0.25)
    raise TimeoutError(f"job {name} still {job[f'{noun}Status']} after {timeout} s")


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after Whisper's English normaliser (shared/audio/README.md)."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalise = EnglishTextNormalizer()
    return jiwer.wer(normalise(reference), normalise(hypothesis))


# Training text for custom language models about card games (the shared cards_* clips).
CARD_GAMES = """\
A standard deck has fifty-two cards in four suits: clubs, diamonds, hearts and spades.
Each suit has an ace, a king, a queen, a jack and the cards from two to ten.
In bridge the suits rank from clubs, the lowest, through diamonds and hearts to spades, the highest.

The dealer shuffles the deck and deals the cards one at a time.
She dealt me the queen of clubs, the four of clubs and the seven of hearts.
He led the eight of spades and I followed with the four of spades.
My partner played the king of hearts and took the trick.
The ace of diamonds beats the queen of diamonds when diamonds are trumps.

In hearts, every heart you take counts against you, and the queen of spades counts thirteen.
Clubs were trumps, so the two of clubs beat the ace of hearts.
I was holding the jack of clubs, the ten of clubs and the queen of hearts.
Lead a low club, then play the king of clubs when the ace of clubs is gone.
Follow suit if you can: a spade on a spade, a club on a club, a heart on a heart.
"""


def write_wav(path: Path, samples, rate: int = 16000) -> Path:
    """float32 samples in [-1, 1], shape (n,) mono or (n, channels) -> 16-bit PCM WAV at `rate` Hz."""
    import wave

    import numpy as np

    data = np.asarray(samples, dtype=np.float32)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1 if data.ndim == 1 else data.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def voiced_span(samples, rate: int = 16000) -> tuple[int, int]:
    """First and last sample of the clip louder than -40 dBFS (RMS over 20 ms frames)."""
    import numpy as np

    frame = rate // 50
    energies = [np.sqrt(np.mean(samples[i : i + frame] ** 2)) for i in range(0, len(samples) - frame, frame)]
    loud = [i for i, e in enumerate(energies) if e > 0.01]
    return loud[0] * frame, (loud[-1] + 1) * frame


def speak(tmp_path: Path, text: str, name: str = "speech.wav") -> Path:
    """`text` spoken by espeak-ng (US English, 140 words a minute) as WAV: 22.05 kHz, 16-bit, mono."""
    import shutil
    import subprocess

    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required (apt-get install espeak-ng; .ci/run installs it)"
    path = tmp_path / name
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(path), text], check=True)
    return path


def fill_disk(directory: Path) -> Path:
    """Writes one file in `directory` until its file system is full (1 MiB, then 4 KiB, then
    1-byte writes); returns the file, whose removal frees the space again."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def tmpfs(directory: Path, size: str):
    """Mounts a tmpfs of `size` (e.g. "2m") on `directory` (created) and unmounts it after.
    Needs root (CI runs as root): elsewhere the calling test is skipped, with that reason."""
    import pytest

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=True)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)
