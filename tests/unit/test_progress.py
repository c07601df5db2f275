"""The job progress registry: what the console and health show of queued and running jobs."""

from __future__ import annotations

import threading

from emulator.service.progress import JobProgress, scaled

JOB = ("transcription-job", "us-east-1", "my-job")
MEDICAL = ("medical-transcription-job", "eu-west-1", "my-job")


def test_a_job_is_shown_from_start_to_finish():
    progress = JobProgress()
    progress.start(JOB)
    progress.start(MEDICAL, "IN_PROGRESS")
    assert progress.snapshot() == [
        {"name": "my-job", "kind": "transcription-job", "region": "us-east-1", "status": "QUEUED", "progress": 0.0},
        {"name": "my-job", "kind": "medical-transcription-job", "region": "eu-west-1", "status": "IN_PROGRESS", "progress": 0.0},
    ]
    progress.running(JOB)
    progress.update(JOB, 0.25)
    assert progress.get(JOB) == 0.25
    assert progress.snapshot()[0]["status"] == "IN_PROGRESS"
    progress.finish(JOB)
    progress.finish(JOB)  # idempotent
    assert progress.get(JOB) is None
    assert [entry["kind"] for entry in progress.snapshot()] == ["medical-transcription-job"]


def test_progress_stays_within_0_and_1_and_never_moves_back():
    progress = JobProgress()
    progress.start(JOB, "IN_PROGRESS")
    progress.update(JOB, 0.6)
    progress.update(JOB, 0.4)
    assert progress.get(JOB) == 0.6
    progress.update(JOB, 7.0)
    assert progress.get(JOB) == 1.0
    progress.start(JOB)  # resumed after a restart: from the beginning
    progress.update(JOB, -1.0)
    assert progress.get(JOB) == 0.0


def test_updates_of_a_job_that_is_gone_are_ignored():
    progress = JobProgress()
    progress.update(JOB, 0.5)
    assert progress.snapshot() == []


def test_scaled_maps_a_pass_onto_its_share_of_the_job():
    progress = JobProgress()
    progress.start(JOB, "IN_PROGRESS")

    def report(fraction):
        progress.update(JOB, fraction)

    second_of_two = scaled(report, 0.5, 1.0)  # e.g. channel 2 of a channel-identification job
    second_of_two(0.5)
    assert progress.get(JOB) == 0.75
    second_of_two(2.0)
    assert progress.get(JOB) == 1.0


def test_concurrent_writers_and_readers():
    progress = JobProgress()
    keys = [("transcription-job", "us-east-1", f"job-{i}") for i in range(8)]

    def work(key):
        progress.start(key, "IN_PROGRESS")
        for step in range(1, 201):
            progress.update(key, step / 200)
            progress.snapshot()

    threads = [threading.Thread(target=work, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(entry["name"] for entry in progress.snapshot()) == sorted(k[2] for k in keys)
    assert all(entry["progress"] == 1.0 for entry in progress.snapshot())
