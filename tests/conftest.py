"""One emulator per test session (real hypercorn + embedded SeaweedFS), stopped at the end."""

from __future__ import annotations

import uuid

import pytest

from tests.support import AUDIO_DIR, EmulatorProcess, audio_path


def pytest_configure(config):
    if not (AUDIO_DIR / "manifest.jsonl").is_file():
        raise pytest.UsageError(f"the shared audio is missing: {AUDIO_DIR} (set TRANSCRIBE_EMULATOR_TEST_AUDIO)")


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    process = EmulatorProcess(tmp_path_factory.mktemp("emulator") / "data").start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def transcribe(emulator):
    return emulator.transcribe()


@pytest.fixture(scope="session")
def s3(emulator):
    return emulator.s3()


@pytest.fixture(scope="session")
def media_bucket(s3):
    s3.create_bucket(Bucket="media")
    return "media"


@pytest.fixture(scope="session")
def upload(s3, media_bucket):
    """upload(item_id or Path, key=None) -> s3:// URI of the object in the media bucket."""

    def _upload(source, key: str | None = None) -> str:
        path = audio_path(source) if isinstance(source, str) else source
        key = key or path.name
        s3.upload_file(str(path), media_bucket, key)
        return f"s3://{media_bucket}/{key}"

    return _upload


@pytest.fixture
def job_name(request):
    """A unique, valid job name derived from the test's name."""
    base = "".join(c if c.isalnum() or c in "._-" else "-" for c in request.node.name)[:150]
    return f"{base}-{uuid.uuid4().hex[:8]}"
