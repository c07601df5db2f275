"""kill -9 loses nothing: jobs survive, running and queued ones resume, gone media fails cleanly.

Uses its own emulator (its own data dir) so killing it leaves the session's alone.
"""

from __future__ import annotations

import os
import time

import psutil
import pytest

from emulator.service.pipeline import NO_SUCH_OBJECT
from tests.support import EmulatorProcess, audio_path, wait_for_job


def _wait_status(client, name: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]["TranscriptionJobStatus"] == status:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{name} never reached {status}")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def test_kill_9_loses_nothing_and_unfinished_jobs_resume(data_dir):
    first = EmulatorProcess(data_dir).start()
    try:
        client, s3 = first.transcribe(), first.s3()
        s3.create_bucket(Bucket="media")
        for item in ("jfk", "long_en_concat_dev", "librivox_0880", "cards_002"):
            s3.upload_file(str(audio_path(item)), "media", item)

        def start(name: str, item: str) -> None:
            client.start_transcription_job(
                TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": f"s3://media/{item}"}
            )

        start("done-before", "jfk")
        done_before = wait_for_job(client, "done-before")
        start("running", "long_en_concat_dev")  # about 4.5 min of audio: still running when killed
        start("queued", "librivox_0880")  # one worker: waits behind "running"
        start("media-gone", "cards_002")
        _wait_status(client, "running", "IN_PROGRESS")
        assert client.get_transcription_job(TranscriptionJobName="queued")["TranscriptionJob"]["TranscriptionJobStatus"] == "QUEUED"
        s3.delete_object(Bucket="media", Key="cards_002")

        weed_pids = [c.pid for c in psutil.Process(first.proc.pid).children(recursive=True)]
        assert weed_pids, "the embedded S3 server should be a child of the emulator"
        first.kill9()
        # The kernel SIGTERMs SeaweedFS at once (PR_SET_PDEATHSIG); its graceful shutdown has taken
        # over 15 s on a loaded 2-core machine, so allow it 45 s to be gone.
        deadline = time.monotonic() + 45
        while not all(_gone(pid) for pid in weed_pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(_gone(pid) for pid in weed_pids), "the embedded S3 server must die with the emulator"
    finally:
        first.stop()

    second = EmulatorProcess(data_dir).start()
    try:
        client = second.transcribe()
        names = {s["TranscriptionJobName"] for s in client.list_transcription_jobs(MaxResults=100)["TranscriptionJobSummaries"]}
        assert names == {"done-before", "running", "queued", "media-gone"}

        kept = client.get_transcription_job(TranscriptionJobName="done-before")["TranscriptionJob"]
        assert kept["TranscriptionJobStatus"] == "COMPLETED"
        assert kept["CompletionTime"] == done_before["CompletionTime"]

        for name in ("running", "queued"):
            job = wait_for_job(client, name, timeout=300)
            assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
            assert job["Transcript"]["TranscriptFileUri"]
        gone = wait_for_job(client, "media-gone")
        assert gone["TranscriptionJobStatus"] == "FAILED"
        assert gone["FailureReason"] == NO_SUCH_OBJECT
    finally:
        second.stop()
    assert not os.path.exists(data_dir / "scratch") or not any((data_dir / "scratch").iterdir())
