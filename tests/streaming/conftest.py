"""Fixtures of the streaming tests: an emulator with its TLS ports on free ports, audio as raw
PCM files, a Python 3.12 venv with aws-sdk-transcribe-streaming, and a runner for client
scripts (real clients in subprocesses, as a user runs them).

The session emulator (tests/conftest.py) serves the streaming ports too (tests/support.py
EmulatorProcess: `https_endpoint`, `wss_endpoint`, `ca_file`).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support import REPO, audio_path

CACHE_DIR = REPO / ".cache"
PY312_VENV = CACHE_DIR / "py312-streaming"
# Pinned: the smithy-based SDK is pre-1.0 and changes its API between minor versions.
PY312_PACKAGES = ["aws-sdk-transcribe-streaming==0.12.0", "awscrt"]
HERE = Path(__file__).resolve().parent


def write_pcm(samples: np.ndarray, path: Path) -> Path:
    """float32 samples, shape (n,) or (channels, n) -> interleaved s16le file."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 2:
        data = data.T.reshape(-1)
    path.write_bytes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """16 kHz float32 -> `rate` Hz (linear interpolation; test audio only)."""
    if rate == 16000:
        return samples
    n = int(round(samples.shape[-1] * rate / 16000))
    grid = np.linspace(0, samples.shape[-1] - 1, n)
    if samples.ndim == 1:
        return np.interp(grid, np.arange(samples.shape[-1]), samples).astype(np.float32)
    return np.stack([resample(row, rate) for row in samples])


@pytest.fixture(scope="session")
def pcm(tmp_path_factory):
    """pcm(item_id, sample_rate=16000, stereo=False) -> Path of raw s16le audio of a shared item
    (mono, or both channels interleaved with stereo=True)."""
    from emulator.engine.media import decode, decode_channels

    folder = tmp_path_factory.mktemp("pcm")

    def _pcm(item_id: str, sample_rate: int = 16000, stereo: bool = False) -> Path:
        path = folder / f"{item_id}-{sample_rate}-{'2' if stereo else '1'}.pcm"
        if not path.exists():
            source = audio_path(item_id)
            samples = decode_channels(source) if stereo else decode(source)
            write_pcm(resample(samples, sample_rate), path)
        return path

    return _pcm


def run_client(command: list[str], env: dict | None = None, timeout: float = 120) -> list[dict]:
    """Runs a client script; returns its JSON lines. Fails with its output when it fails."""
    proc = subprocess.run(
        command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        pytest.fail(f"client failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return lines


def _python312() -> str | None:
    """A working python3.12: on PATH, else a pyenv installation (whose shim may not be active)."""
    candidates = [shutil.which("python3.12"), *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="session")
def py312():
    """Python of a throwaway 3.12 venv (git-ignored .cache/py312-streaming, reused) holding
    aws-sdk-transcribe-streaming; skips when no python3.12 is installed."""
    python = PY312_VENV / "bin" / "python"
    if not python.exists():
        interpreter = _python312()
        if interpreter is None:
            pytest.skip("aws-sdk-transcribe-streaming needs Python >= 3.12 and no python3.12 is installed")
        CACHE_DIR.mkdir(exist_ok=True)
        (CACHE_DIR / ".gitignore").write_text("*\n")  # the cache never reaches git
        subprocess.run([interpreter, "-m", "venv", str(PY312_VENV)], check=True)
    check = subprocess.run([str(python), "-c", "import aws_sdk_transcribe_streaming, awscrt"], capture_output=True)
    if check.returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PY312_PACKAGES], check=True, timeout=600)
    return python


@pytest.fixture(scope="session")
def amazon_transcribe_client(emulator):
    """client(pcm_path, *args, secret_key=None) -> JSON lines of amazon_transcribe_client.py
    against the emulator's HTTPS port, trusting its CA via SSL_CERT_FILE."""
    script = HERE / "amazon_transcribe_client.py"
    env = {"SSL_CERT_FILE": str(emulator.ca_file)}

    def _client(pcm_path: Path, *args: str, timeout: float = 120) -> list[dict]:
        command = [sys.executable, str(script), "--endpoint", emulator.https_endpoint, "--pcm", str(pcm_path), *args]
        return run_client(command, env, timeout)

    return _client


def results(lines: list[dict]) -> list[dict]:
    return [line["result"] for line in lines if line.get("event") == "result"]


def final_transcript(lines: list[dict], channel: str | None = None) -> str:
    """The final results' transcripts in order (optionally of one channel id)."""
    texts = []
    for result in results(lines):
        if result["is_partial"] or (channel and result.get("channel_id") != channel):
            continue
        texts.append(result["alternatives"][0]["transcript"])
    return " ".join(texts)
