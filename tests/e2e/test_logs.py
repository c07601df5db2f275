"""Logs as a user reads them: one access line per API request, one line per state change of a
job or a vocabulary, one at the open and one at the close of a stream, from a real emulator
started with `--log-format json`.

Each line is checked twice: its message (all the text format prints) and its JSON fields.
"""

from __future__ import annotations

import json
import re
import ssl
import time

import numpy as np
import pytest
from botocore.exceptions import ClientError

from emulator.engine.media import decode
from tests.streaming.test_websocket_python import _stream, audio_frames, presign, run, stream_params
from tests.support import EmulatorProcess, audio_path, wait_for_job

ACCESS = re.compile(r"^(?P<operation>\S+) (?P<status>\d{3}) (?:(?P<error>\w+) )?(?P<ms>[\d.]+) ms request_id=(?P<request_id>\S+)$")
JOB_CHANGE = re.compile(
    r"^job (?P<job>\S+) \((?P<kind>\S+)\) (?P<before>\S+) -> (?P<after>\S+)"
    r"(?: audio (?P<audio>[\d.]+) s)?(?: wall (?P<wall>[\d.]+) s)?(?: rtf (?P<rtf>[\d.]+))?(?:: (?P<reason>.*))?$"
)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    process = EmulatorProcess(tmp_path_factory.mktemp("logs") / "data", ["--log-format", "json"]).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def bucket(logged):
    logged.s3().create_bucket(Bucket="media")
    return "media"


def records(process: EmulatorProcess) -> list[dict]:
    """Every JSON log line of the process: {"time", "level", "logger", "message", ...fields}."""
    return [json.loads(line) for line in process.log_path.read_text(errors="replace").splitlines() if line.startswith("{")]


def lines(process: EmulatorProcess, logger: str, pattern: re.Pattern, until, timeout: float = 10) -> list[tuple[dict, re.Match]]:
    """(record, match) of `logger`'s lines whose message matches, once `until(matches)` holds
    (lines reach the file a moment after the API answers)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [(r, m) for r in records(process) if r["logger"] == logger and (m := pattern.match(r["message"]))]
        if until(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def access_line(process: EmulatorProcess, request_id: str) -> tuple[dict, re.Match]:
    found = lines(process, "emulator.access", ACCESS, lambda f: any(m["request_id"] == request_id for _, m in f))
    mine = [(r, m) for r, m in found if m["request_id"] == request_id]
    assert len(mine) == 1, f"{len(mine)} access lines for {request_id}:\n{process.log_tail()}"
    return mine[0]


def job_changes(process: EmulatorProcess, name: str, last: str) -> list[tuple[dict, re.Match]]:
    """The state-change lines of job `name`, once one of them goes to `last`."""
    found = lines(process, "emulator.jobs", JOB_CHANGE, lambda f: any(m["job"] == name and m["after"] == last for _, m in f))
    return [(r, m) for r, m in found if m["job"] == name]


def check_start(changes: list[tuple[dict, re.Match]], last: str) -> None:
    """none -> IN_PROGRESS (or none -> QUEUED -> IN_PROGRESS), then IN_PROGRESS -> `last`: each once."""
    steps = [(m["before"], m["after"]) for _, m in changes]
    assert steps in (
        [("none", "IN_PROGRESS"), ("IN_PROGRESS", last)],
        [("none", "QUEUED"), ("QUEUED", "IN_PROGRESS"), ("IN_PROGRESS", last)],
    ), steps


def test_a_completed_job_logs_its_requests_and_each_state_change_once(logged, bucket):
    client = logged.transcribe()
    logged.s3().upload_file(str(audio_path("jfk")), bucket, "jfk.flac")
    started = client.start_transcription_job(
        TranscriptionJobName="logged-jfk", LanguageCode="en-US", Media={"MediaFileUri": f"s3://{bucket}/jfk.flac"}
    )
    assert wait_for_job(client, "logged-jfk")["TranscriptionJobStatus"] == "COMPLETED"
    got = client.get_transcription_job(TranscriptionJobName="logged-jfk")

    for response, operation in ((started, "StartTranscriptionJob"), (got, "GetTranscriptionJob")):
        request_id = response["ResponseMetadata"]["RequestId"]
        record, match = access_line(logged, request_id)
        assert (match["operation"], match["status"], match["error"]) == (operation, "200", None)
        assert record["level"] == "info"
        assert (record["operation"], record["status"], record["request_id"], record["error"]) == (
            operation, 200, request_id, None,
        )
        assert record["ms"] >= 0

    changes = job_changes(logged, "logged-jfk", "COMPLETED")
    check_start(changes, "COMPLETED")
    record, last = changes[-1]
    assert last["kind"] == "transcription-job" and record["level"] == "info"
    audio, wall, rtf = float(last["audio"]), float(last["wall"]), float(last["rtf"])
    assert audio == pytest.approx(11.0, abs=0.1)
    assert 0 < rtf == pytest.approx(wall / audio, abs=0.01)
    assert (record["job"], record["from"], record["to"]) == ("logged-jfk", "IN_PROGRESS", "COMPLETED")
    assert record["audio_seconds"] == pytest.approx(11.0, abs=0.1)
    assert record["rtf"] == pytest.approx(record["wall_seconds"] / record["audio_seconds"], rel=0.01)


def test_a_failed_job_logs_its_failure_reason_at_warning(logged, bucket):
    client = logged.transcribe()
    logged.s3().put_object(Bucket=bucket, Key="notes.txt", Body=b"These are notes, not speech.\n" * 20)
    client.start_transcription_job(
        TranscriptionJobName="logged-notes", LanguageCode="en-US", Media={"MediaFileUri": f"s3://{bucket}/notes.txt"}
    )
    job = wait_for_job(client, "logged-notes")
    assert job["TranscriptionJobStatus"] == "FAILED"

    changes = job_changes(logged, "logged-notes", "FAILED")
    check_start(changes, "FAILED")
    record, last = changes[-1]
    assert record["level"] == "warning"
    assert last["reason"] == job["FailureReason"]
    assert last["audio"] is None and last["wall"] is not None  # the media never decoded
    assert record["failure_reason"] == job["FailureReason"] and "audio_seconds" not in record


def test_an_error_response_logs_its_type(logged):
    client = logged.transcribe()
    with pytest.raises(ClientError) as failure:
        client.get_transcription_job(TranscriptionJobName="no-such-job")
    request_id = failure.value.response["ResponseMetadata"]["RequestId"]
    record, match = access_line(logged, request_id)
    assert (match["operation"], match["status"], match["error"]) == ("GetTranscriptionJob", "400", "BadRequestException")
    assert (record["error"], record["status"]) == ("BadRequestException", 400)


def test_a_vocabulary_logs_create_ready_and_delete(logged):
    client = logged.transcribe()
    client.create_vocabulary(VocabularyName="logged-words", LanguageCode="en-US", Phrases=["Transcribe", "emulator"])
    change = re.compile(r"^(?P<kind>\S+) (?P<name>\S+) (?P<before>\S+) -> (?P<after>\S+)(?:: .*)?$")
    lines(logged, "emulator.resources", change, lambda f: any(m["after"] == "READY" for _, m in f))
    client.delete_vocabulary(VocabularyName="logged-words")
    found = lines(logged, "emulator.resources", change, lambda f: any(m["after"] == "deleted" for _, m in f))
    mine = [(r, m) for r, m in found if m["name"] == "logged-words"]
    assert [(m["kind"], m["before"], m["after"]) for _, m in mine] == [
        ("vocabulary", "none", "PENDING"),
        ("vocabulary", "PENDING", "READY"),
        ("vocabulary", "READY", "deleted"),
    ]
    assert [(r["resource"], r["from"], r["to"]) for r, _ in mine][-1] == ("logged-words", "READY", None)


def test_a_stream_logs_its_open_and_its_close(logged, tmp_path):
    pcm = tmp_path / "speech.pcm"
    pcm.write_bytes((np.clip(decode(audio_path("sr_english_123")), -1, 1) * 32767).astype("<i2").tobytes())
    tls = ssl.create_default_context(cafile=str(logged.ca_file))
    session = run(_stream(presign(logged, stream_params()), tls, audio_frames(pcm), pace=0))
    session_id = session.headers["x-amzn-transcribe-session-id"]
    results = session.results()

    opened = re.compile(rf"^stream {session_id} opened: (?P<what>.*)$")
    closed = re.compile(
        rf"^stream {session_id} closed \((?P<operation>\S+) over (?P<transport>\S+)\): (?P<ended>.+) after "
        r"(?P<audio>[\d.]+) s of audio, (?P<results>\d+) results \((?P<finals>\d+) final\) in [\d.]+ s$"
    )
    (_, open_line), = lines(logged, "emulator.streaming", opened, any)
    (record, close_line), = lines(logged, "emulator.streaming", closed, any)
    assert open_line["what"] == "StartStreamTranscription over websocket, en-US, 16000 Hz pcm"
    assert (close_line["operation"], close_line["transport"], close_line["ended"]) == (
        "StartStreamTranscription", "websocket", "end of stream",
    )
    assert float(close_line["audio"]) == pytest.approx(2.7, abs=0.1)
    assert int(close_line["results"]) == len(results)
    assert int(close_line["finals"]) == len([r for r in results if not r["IsPartial"]]) > 0
    assert (record["session_id"], record["transport"], record["ended"]) == (session_id, "websocket", "end of stream")
    assert record["final_results"] == int(close_line["finals"])
