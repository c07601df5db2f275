"""The pytest plugin (emulator/pytest_plugin.py, entry point pytest11) as a user meets it: a
test file of their own, run by pytest in a subprocess, that uses only the fixtures.

First run: the fixture starts its own emulator (free ports, temporary data dir) and stops it
at the end (its PID is gone afterwards). Second run: TRANSCRIBE_EMULATOR_URL attaches the same
file to the session's emulator instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import psutil

from tests.support import audio_path

USER_TEST = textwrap.dedent(
    """
    import os

    def test_my_pipeline_transcribes_a_clip(transcribe_emulator, transcribe_bucket):
        s3 = transcribe_emulator.client("s3")
        s3.upload_file(os.environ["CLIP"], transcribe_bucket, "clip.flac")
        transcribe = transcribe_emulator.client("transcribe")
        transcribe.start_transcription_job(
            TranscriptionJobName="plugin-job", LanguageCode="en-US",
            Media={"MediaFileUri": f"s3://{transcribe_bucket}/clip.flac"}, OutputBucketName=transcribe_bucket,
        )
        job = transcribe_emulator.wait_for_job("plugin-job", timeout=240)
        assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
        transcript = s3.get_object(Bucket=transcribe_bucket, Key="plugin-job.json")["Body"].read().decode()
        assert "ask not what your country can do for you" in transcript.lower()
        assert transcribe_emulator.s3_endpoint_url == transcribe_emulator.endpoint_url
        transcribe.delete_transcription_job(TranscriptionJobName="plugin-job")
        if transcribe_emulator.process is not None:
            with open(os.environ["PID_FILE"], "w") as f:
                f.write(str(transcribe_emulator.process.pid))
    """
)


def run_user_suite(tmp_path, **env) -> subprocess.CompletedProcess:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    environment = {k: v for k, v in os.environ.items() if k != "TRANSCRIBE_EMULATOR_URL"}
    environment.update(CLIP=str(audio_path("jfk")), PID_FILE=str(tmp_path / "pid"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600,
    )


def test_a_user_test_file_gets_its_own_emulator_from_the_fixture(tmp_path):
    done = run_user_suite(tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    pid = int((tmp_path / "pid").read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_the_fixture_attaches_to_transcribe_emulator_url(emulator, tmp_path):
    done = run_user_suite(tmp_path, TRANSCRIBE_EMULATOR_URL=emulator.endpoint)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert not (tmp_path / "pid").exists()  # nothing was started
    assert emulator.transcribe().list_transcription_jobs(JobNameContains="plugin-job")["TranscriptionJobSummaries"] == []
