"""S3 and disk failures are reported and recovered: a dead embedded SeaweedFS is restarted,
a frozen one never stalls List/Get, a short outage delays a job instead of failing it, a
failed create leaves nothing behind, a full disk ends no job stuck, a damaged row is skipped.

Each test uses its own emulators (own data dirs), never the session's, since it breaks them.
"""

from __future__ import annotations

import signal
import sqlite3
import time

import httpx
import psutil
import pytest
from botocore.exceptions import ClientError

from emulator.storage.seaweed import EmbeddedS3, SeaweedPorts
from tests.support import EmulatorProcess, audio_path, fill_disk, free_s3_base, tmpfs, wait_for_job


def _weed(emulator: EmulatorProcess) -> psutil.Process:
    """The embedded SeaweedFS child of `emulator`."""
    for child in psutil.Process(emulator.proc.pid).children(recursive=True):
        if child.name() == "weed":
            return child
    raise AssertionError("the emulator has no SeaweedFS child")


def _wait_health(emulator: EmulatorProcess, status: str, timeout: float, interval: float = 0.1) -> dict:
    deadline = time.monotonic() + timeout
    health = emulator.health()
    while health["status"] != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"health never became {status!r}; last: {health}")
        time.sleep(interval)
        health = emulator.health()
    return health


def _start(client, name: str, uri: str, **members) -> None:
    client.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": uri}, **members)


def _error(call, **params) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """An emulator with its embedded SeaweedFS, one clip uploaded."""
    process = EmulatorProcess(tmp_path_factory.mktemp("faults") / "data").start()
    s3 = process.s3()
    s3.create_bucket(Bucket="media")
    s3.upload_file(str(audio_path("jfk")), "media", "jfk.wav")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def outside_s3(tmp_path_factory):
    """A SeaweedFS run by the test itself, that the test can stop and start: an outage."""
    server = EmbeddedS3(tmp_path_factory.mktemp("outside-s3"), SeaweedPorts.from_base(free_s3_base()), "test", "test")
    server.start()
    yield server
    server.stop(timeout=5)


@pytest.fixture(scope="module")
def external(tmp_path_factory, outside_s3):
    """An emulator that uses `outside_s3` (--s3-endpoint): no watchdog restarts it."""
    process = EmulatorProcess(
        tmp_path_factory.mktemp("external") / "data", ["--s3-endpoint", outside_s3.endpoint]
    ).start()
    yield process
    process.stop()


def _outside_client(server: EmbeddedS3):
    import boto3

    return boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


# --- the embedded SeaweedFS ---------------------------------------------------------------


def test_killed_seaweedfs_is_restarted_and_health_shows_it(embedded):
    client = embedded.transcribe()
    weed = _weed(embedded)
    weed.send_signal(signal.SIGKILL)
    degraded = _wait_health(embedded, "degraded", timeout=10, interval=0.05)
    assert any("SeaweedFS" in reason and "exited" in reason for reason in degraded["reasons"]), degraded
    _wait_health(embedded, "ok", timeout=45)
    assert _weed(embedded).pid != weed.pid
    _start(client, "after-restart", "s3://media/jfk.wav")
    job = wait_for_job(client, "after-restart", timeout=120)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")


def test_frozen_seaweedfs_never_stalls_list_or_get(embedded):
    client = embedded.transcribe()
    _start(client, "before-freeze", "s3://media/jfk.wav")
    assert wait_for_job(client, "before-freeze", timeout=120)["TranscriptionJobStatus"] == "COMPLETED"
    weed = _weed(embedded)
    weed.send_signal(signal.SIGSTOP)
    try:
        for _ in range(3):
            started = time.monotonic()
            client.list_transcription_jobs()
            job = client.get_transcription_job(TranscriptionJobName="before-freeze")["TranscriptionJob"]
            assert time.monotonic() - started < 2.0
            assert job["Transcript"]["TranscriptFileUri"]  # presigned: computed, no S3 call
        degraded = _wait_health(embedded, "degraded", timeout=15)
        assert any(reason.startswith("s3:") for reason in degraded["reasons"]), degraded
    finally:
        weed.send_signal(signal.SIGCONT)
    _wait_health(embedded, "ok", timeout=30)


def test_job_survives_a_short_freeze_of_seaweedfs(embedded):
    client = embedded.transcribe()
    weed = _weed(embedded)
    weed.send_signal(signal.SIGSTOP)
    try:
        _start(client, "through-freeze", "s3://media/jfk.wav")
        time.sleep(4)
    finally:
        weed.send_signal(signal.SIGCONT)
    job = wait_for_job(client, "through-freeze", timeout=120)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")


@pytest.mark.parametrize("key", ["a/../b", "/a", "a//b", "./a", "a/.", "x/./y.json"])
def test_output_keys_the_s3_server_would_rewrite_are_refused_at_start(embedded, key):
    client = embedded.transcribe()
    name = f"bad-key-{abs(hash(key))}"
    error = _error(
        client.start_transcription_job, TranscriptionJobName=name, LanguageCode="en-US",
        Media={"MediaFileUri": "s3://media/jfk.wav"}, OutputBucketName="media", OutputKey=key,
    )
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert "OutputKey" in error.response["Error"]["Message"] and key in error.response["Error"]["Message"]
    medical = _error(
        client.start_medical_transcription_job, MedicalTranscriptionJobName=name, LanguageCode="en-US",
        Media={"MediaFileUri": "s3://media/jfk.wav"}, OutputBucketName="media", OutputKey=key,
        Specialty="PRIMARYCARE", Type="DICTATION",
    )
    assert medical.response["Error"]["Code"] == "BadRequestException"
    assert _error(client.get_transcription_job, TranscriptionJobName=name).response["Error"]["Code"] == "BadRequestException"


def test_vocabulary_and_filter_over_50_kb_are_refused(embedded):
    client = embedded.transcribe()
    phrases = [f"term-{'a' * 40}" for _ in range(1500)]  # about 70 KB as a table
    error = _error(client.create_vocabulary, VocabularyName="huge", LanguageCode="en-US", Phrases=phrases)
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert "50 KB" in error.response["Error"]["Message"]
    error = _error(client.create_vocabulary_filter, VocabularyFilterName="huge", LanguageCode="en-US", Words=phrases)
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert "50 KB" in error.response["Error"]["Message"]
    embedded.s3().put_object(Bucket="media", Key="huge-filter.txt", Body=b"word\n" * 12000)
    error = _error(
        client.create_vocabulary_filter, VocabularyFilterName="huge-file", LanguageCode="en-US",
        VocabularyFilterFileUri="s3://media/huge-filter.txt",
    )
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert "50 KB" in error.response["Error"]["Message"]
    embedded.s3().put_object(Bucket="media", Key="huge-table.txt", Body=b"Phrase\n" + b"term\n" * 12000)
    client.create_vocabulary(VocabularyName="huge-table", LanguageCode="en-US", VocabularyFileUri="s3://media/huge-table.txt")
    deadline = time.monotonic() + 30
    while (vocabulary := client.get_vocabulary(VocabularyName="huge-table"))["VocabularyState"] == "PENDING":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert vocabulary["VocabularyState"] == "FAILED" and "50 KB" in vocabulary["FailureReason"], vocabulary
    # Just under the limit is fine.
    client.create_vocabulary(VocabularyName="large", LanguageCode="en-US", Phrases=phrases[:1000])


# --- an S3 server the emulator does not run (--s3-endpoint) -------------------------------


def test_create_vocabulary_filter_while_s3_is_down_leaves_nothing(external, outside_s3):
    client = external.transcribe()
    outside_s3.stop(timeout=5)
    try:
        started = time.monotonic()
        error = _error(client.create_vocabulary_filter, VocabularyFilterName="f", LanguageCode="en-US", Words=["darn"])
        assert time.monotonic() - started < 10
        assert error.response["Error"]["Code"] == "InternalFailureException"
        assert "S3" in error.response["Error"]["Message"] and "unreachable" in error.response["Error"]["Message"]
        missing = _error(client.get_vocabulary_filter, VocabularyFilterName="f")
        assert missing.response["Error"]["Code"] == "NotFoundException"
    finally:
        outside_s3.start()
    client.create_vocabulary_filter(VocabularyFilterName="f", LanguageCode="en-US", Words=["darn"])
    before = client.get_vocabulary_filter(VocabularyFilterName="f")
    assert before["DownloadUri"]

    outside_s3.stop(timeout=5)
    try:
        error = _error(client.update_vocabulary_filter, VocabularyFilterName="f", Words=["heck"])
        assert error.response["Error"]["Code"] == "InternalFailureException"
    finally:
        outside_s3.start()
    after = client.get_vocabulary_filter(VocabularyFilterName="f")
    assert after["LastModifiedTime"] == before["LastModifiedTime"]  # unchanged
    assert httpx.get(after["DownloadUri"], timeout=10).text == "darn\n"


def test_job_waits_out_a_short_s3_outage(external, outside_s3):
    client = external.transcribe()
    s3 = _outside_client(outside_s3)
    s3.create_bucket(Bucket="media")
    s3.upload_file(str(audio_path("ls_61-70968-0000")), "media", "clip.flac")
    outside_s3.stop(timeout=5)
    try:
        _start(client, "through-outage", "s3://media/clip.flac")
        time.sleep(4)  # the job's first S3 calls are refused meanwhile
    finally:
        outside_s3.start()
    job = wait_for_job(client, "through-outage", timeout=120)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert "failed, retrying" in external.log_tail(400)

    outside_s3.stop(timeout=5)  # deleting the job needs no S3: its transcript is left behind
    try:
        client.delete_transcription_job(TranscriptionJobName="through-outage")
    finally:
        outside_s3.start()
    assert _error(client.get_transcription_job, TranscriptionJobName="through-outage").response["Error"]["Code"] == "BadRequestException"


# --- the job store ------------------------------------------------------------------------


def test_a_damaged_row_is_skipped_by_list(tmp_path):
    data_dir = tmp_path / "data"
    first = EmulatorProcess(data_dir, ["--lazy-models"]).start()
    try:
        client = first.transcribe()
        for name in ("good", "bad"):
            client.create_vocabulary_filter(VocabularyFilterName=name, LanguageCode="en-US", Words=["darn"])
            _start(client, name, "s3://no-such-bucket/x.wav")  # fails at once, no model needed
    finally:
        first.stop()
    with sqlite3.connect(data_dir / "emulator.sqlite3") as db:
        db.execute("UPDATE resources SET doc = '{not json' WHERE name = 'bad' AND kind = 'transcription-job'")
        db.execute("UPDATE resources SET internal = 'garbage' WHERE name = 'bad' AND kind = 'vocabulary-filter'")
    second = EmulatorProcess(data_dir, ["--lazy-models"]).start()
    try:
        client = second.transcribe()
        jobs = client.list_transcription_jobs()["TranscriptionJobSummaries"]
        assert [j["TranscriptionJobName"] for j in jobs] == ["good"]
        filters = client.list_vocabulary_filters()["VocabularyFilters"]
        assert [f["VocabularyFilterName"] for f in filters] == ["good"]
        log = second.log_tail(200)
        assert "damaged row" in log and "'bad'" in log
    finally:
        second.stop()


def test_full_disk_is_reported_and_no_job_stays_stuck(tmp_path):
    with tmpfs(tmp_path / "data", "160m") as data_dir:
        _full_disk_scenario(tmp_path, data_dir)


def _full_disk_scenario(tmp_path, data_dir):
    emulator = None
    try:
        emulator = EmulatorProcess(data_dir, ["--model-store-dir", str(tmp_path / "model-store")]).start()
        client = emulator.transcribe()
        emulator.s3().create_bucket(Bucket="media")
        emulator.s3().upload_file(str(audio_path("jfk")), "media", "jfk.wav")
        _start(client, "running", "s3://media/jfk.wav")  # its outcome is written on a full disk
        _start(client, "queued", "s3://media/jfk.wav")  # one worker: starts on a full disk
        filler = fill_disk(data_dir)
        refused = _error(client.start_transcription_job, TranscriptionJobName="refused", LanguageCode="en-US",
                         Media={"MediaFileUri": "s3://media/jfk.wav"}).response["Error"]
        assert refused["Code"] == "InternalFailureException"
        assert "database or disk is full" in refused["Message"], refused
        arn = "arn:aws:transcribe:us-east-1:000000000000:transcription-job/queued"
        tagged = _error(client.tag_resource, ResourceArn=arn, Tags=[{"Key": "k", "Value": "v" * 200}]).response["Error"]
        assert tagged["Code"] == "InternalFailureException" and "disk is full" in tagged["Message"], tagged
        degraded = _wait_health(emulator, "degraded", timeout=15)
        assert any("disk full" in reason for reason in degraded["reasons"]), degraded
        client.list_transcription_jobs()  # reads still work
        time.sleep(3)
        filler.unlink()
        _wait_health(emulator, "ok", timeout=30)
        for name in ("running", "queued"):
            job = wait_for_job(client, name, timeout=120)
            assert job["TranscriptionJobStatus"] == "COMPLETED" or job.get("FailureReason"), job
        _start(client, "after-full", "s3://media/jfk.wav")
        assert wait_for_job(client, "after-full")["TranscriptionJobStatus"] == "COMPLETED"
        stuck = [
            j["TranscriptionJobName"]
            for status in ("QUEUED", "IN_PROGRESS")
            for j in client.list_transcription_jobs(Status=status)["TranscriptionJobSummaries"]
        ]
        assert stuck == []
    finally:
        if emulator:
            emulator.stop()
