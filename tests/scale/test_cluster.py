"""Two API nodes (`serve --workers 0`) and transcription workers (`transcribe-emulator worker`)
on one real PostgreSQL and one S3 (the embedded SeaweedFS of the first API node): a job started
on one node is seen on the other, a worker killed mid-job loses its lease and another worker
completes the job exactly once, 50 jobs across 3 workers are each claimed once, and a
PostgreSQL restart under load answers a clear error meanwhile and loses no job."""

from __future__ import annotations

import os
import signal
import time
import uuid

import httpx
import pytest
from botocore.exceptions import ClientError

from emulator.storage.store import Store
from tests.scale.cluster import JOB, WorkerProcess, claim_pids
from tests.support import EmulatorProcess, audio_path, wait_for_job

LEASE = 5  # seconds: a killed worker's job is claimed again this long after its last renewal


@pytest.fixture(scope="module")
def cluster(postgres, tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    url = postgres.create_database(f"cluster_{uuid.uuid4().hex[:8]}")
    api = [EmulatorProcess(root / "api-a", ["--workers", "0", "--database-url", url, "--lazy-models"]).start()]
    s3_endpoint = api[0].s3_endpoint
    api.append(EmulatorProcess(root / "api-b", ["--workers", "0", "--database-url", url, "--lazy-models",
                                                "--s3-endpoint", s3_endpoint]).start())
    workers = [WorkerProcess(root / f"worker-{i}", url, s3_endpoint, LEASE).start() for i in range(2)]
    store = Store(url=url)
    state = {"api": api, "workers": workers, "store": store, "root": root, "url": url, "s3_endpoint": s3_endpoint}
    s3 = api[0].s3()
    s3.create_bucket(Bucket="media")
    for item in ("cards_001", "jfk"):
        s3.upload_file(str(audio_path(item)), "media", item)
    yield state
    for worker in workers:
        worker.stop()
    for node in api:
        node.stop()
    store.close()


def _start(client, name: str, item: str = "cards_001") -> None:
    client.start_transcription_job(
        TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": f"s3://media/{item}"}
    )


def _live_workers(cluster, count: int) -> list[WorkerProcess]:
    """`count` running workers: replaces dead ones (a test killed one) and starts more."""
    workers = cluster["workers"]
    workers[:] = [w for w in workers if w.alive]
    while len(workers) < count:
        workers.append(WorkerProcess(cluster["root"] / f"worker-{uuid.uuid4().hex[:6]}", cluster["url"],
                                     cluster["s3_endpoint"], LEASE).start())
    return workers


def test_a_job_started_on_one_api_node_is_listed_and_completed_on_the_other(cluster):
    a, b = (node.transcribe() for node in cluster["api"])
    name = f"across-{uuid.uuid4().hex[:8]}"
    _start(a, name)
    listed = b.list_transcription_jobs(JobNameContains=name)["TranscriptionJobSummaries"]
    assert [(j["TranscriptionJobName"], j["TranscriptionJobStatus"]) for j in listed] == [(name, "QUEUED")] or \
        listed[0]["TranscriptionJobStatus"] in ("IN_PROGRESS", "COMPLETED")
    job = wait_for_job(b, name, timeout=120)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    transcript = httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=10).json()
    assert transcript["jobName"] == name and transcript["results"]["transcripts"][0]["transcript"].strip()
    record = cluster["store"].get(JOB, "us-east-1", name)
    assert len(claim_pids(record)) == 1 and claim_pids(record)[0] in {w.pid for w in cluster["workers"]}


def test_a_vocabulary_created_on_an_api_node_is_processed_by_a_worker(cluster):
    a, b = (node.transcribe() for node in cluster["api"])
    name = f"vocab-{uuid.uuid4().hex[:8]}"
    created = a.create_vocabulary(VocabularyName=name, LanguageCode="en-US", Phrases=["Dashwood", "Norland"])
    assert created["VocabularyState"] == "PENDING"  # an API node processes nothing itself
    deadline = time.monotonic() + 60
    while (state := b.get_vocabulary(VocabularyName=name)["VocabularyState"]) == "PENDING" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state == "READY"
    record = cluster["store"].get("vocabulary", "us-east-1", name)
    assert len(claim_pids(record)) == 1 and record.lease_owner is None


def test_a_worker_killed_mid_job_loses_its_lease_and_the_job_completes_once_on_another(cluster):
    workers = _live_workers(cluster, 2)
    client = cluster["api"][1].transcribe()
    store = cluster["store"]
    name = f"killed-{uuid.uuid4().hex[:8]}"
    _start(client, name, "jfk")
    deadline = time.monotonic() + 60
    while not (record := store.get(JOB, "us-east-1", name)).lease_owner and time.monotonic() < deadline:
        time.sleep(0.05)
    first = claim_pids(record)[0]
    killed = next(w for w in workers if w.pid == first)
    # Frozen the moment it claims (it has not fetched the media yet), then killed: mid-job for sure.
    os.kill(first, signal.SIGSTOP)
    assert store.get(JOB, "us-east-1", name).status == "IN_PROGRESS"
    killed.kill9()

    job = wait_for_job(client, name, timeout=180)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    record = store.get(JOB, "us-east-1", name)
    survivor = next(w.pid for w in workers if w.alive)
    assert claim_pids(record) == [first, survivor]  # claimed again by the other worker after the lease lapsed
    # Three state moves: two claims and one completion (a second completion would be a fourth).
    assert (record.status, record.revision, record.lease_owner) == ("COMPLETED", 3, None)
    s3 = cluster["api"][0].s3()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=record.internal["Transcript"]["bucket"],
                                                 Prefix=f"000000000000/{name}/").get("Contents", [])]
    assert keys == [record.internal["Transcript"]["key"]]  # output written once, by the run that counts
    assert "\n".join(w.log_tail(200) for w in workers if w.alive).count(f"claimed transcription-job {name}") == 1


def test_a_worker_paused_past_its_lease_writes_no_state_and_keeps_no_output(cluster):
    workers = _live_workers(cluster, 2)
    client = cluster["api"][0].transcribe()
    store = cluster["store"]
    name = f"paused-{uuid.uuid4().hex[:8]}"
    _start(client, name, "jfk")
    deadline = time.monotonic() + 60
    paused = None
    while paused is None and time.monotonic() < deadline:  # its run has begun once its scratch dir exists
        paused = next((w for w in workers if list((w.data_dir / "scratch").glob(f"{name}-*"))), None)
        time.sleep(0.02)
    assert paused is not None
    os.kill(paused.pid, signal.SIGSTOP)  # a long GC pause, a swapped-out machine
    try:
        job = wait_for_job(client, name, timeout=180)  # the other worker claims it after the lease and completes it
    finally:
        os.kill(paused.pid, signal.SIGCONT)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    deadline = time.monotonic() + 120
    while "ran to its end after losing its claim" not in paused.log_tail(400) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"job {name} ran to its end after losing its claim" in paused.log_tail(400)
    record = store.get(JOB, "us-east-1", name)
    other = next(w.pid for w in workers if w is not paused)
    assert claim_pids(record) == [paused.pid, other]
    assert (record.status, record.revision) == ("COMPLETED", 3)  # the paused run moved nothing
    s3 = cluster["api"][0].s3()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=record.internal["Transcript"]["bucket"],
                                                 Prefix=f"000000000000/{name}/").get("Contents", [])]
    assert keys == [record.internal["Transcript"]["key"]]  # the paused run deleted its own file, not the winner's


def test_fifty_jobs_across_three_workers_are_each_claimed_once(cluster):
    workers = _live_workers(cluster, 3)
    clients = [node.transcribe() for node in cluster["api"]]
    store = cluster["store"]
    batch = uuid.uuid4().hex[:6]
    names = [f"batch-{batch}-{i:02d}" for i in range(50)]
    began = time.monotonic()
    for i, name in enumerate(names):
        _start(clients[i % 2], name)  # both API nodes take requests
    # An API node's health lists the deployment's unfinished jobs (read from the store), not only its own.
    seen = []
    health_deadline = time.monotonic() + 15
    while not seen and time.monotonic() < health_deadline:
        seen = [j for j in cluster["api"][1].health()["jobs_in_flight"] if j["name"].startswith(f"batch-{batch}-")]
        time.sleep(0.5)
    assert seen and all(j["status"] in ("QUEUED", "IN_PROGRESS") for j in seen)
    deadline = time.monotonic() + 600  # generous: the CPU may be shared with other work
    while time.monotonic() < deadline:
        records = [r for r in store.list(JOB, "us-east-1", name_contains=f"batch-{batch}-")]
        if len(records) == 50 and all(r.status in ("COMPLETED", "FAILED") for r in records):
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - began
    assert sorted(r.name for r in records) == names
    assert {r.status for r in records} == {"COMPLETED"}, [r.doc.get("FailureReason") for r in records]
    assert all(len(claim_pids(r)) == 1 and r.revision == 2 for r in records)  # one claim, one completion each
    per_worker = {w.pid: sum(claim_pids(r)[0] == w.pid for r in records) for w in workers}
    print(f"50 one-second jobs on 3 workers: {elapsed:.1f} s wall; claims per worker {sorted(per_worker.values())}")
    assert sum(per_worker.values()) == 50 and all(per_worker.values()), per_worker


def test_postgresql_restarted_under_load_answers_a_clear_error_and_loses_no_job(cluster, postgres):
    _live_workers(cluster, 2)
    client = cluster["api"][0].transcribe()  # one attempt: a 500 is the answer, not retried
    store = cluster["store"]
    batch = uuid.uuid4().hex[:6]
    names = [f"restart-{batch}-{i}" for i in range(6)]
    for name in names:
        _start(client, name)
    postgres.stop()
    try:
        for call in (lambda: client.list_transcription_jobs(),
                     lambda: _start(client, f"restart-{batch}-during")):
            began = time.monotonic()
            with pytest.raises(ClientError) as caught:
                call()
            error = caught.value.response
            assert error["Error"]["Code"] in ("InternalFailureException", "ServiceUnavailableException"), error
            assert error["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
            assert time.monotonic() - began < 15  # an answer, never a hang
        time.sleep(2)  # the workers' claims and leases fail meanwhile too
    finally:
        postgres.start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            jobs = {j["TranscriptionJobName"]: j["TranscriptionJobStatus"] for j in
                    client.list_transcription_jobs(JobNameContains=f"restart-{batch}", MaxResults=100)[
                        "TranscriptionJobSummaries"]}
        except ClientError:
            jobs = {}  # the API's pooled connections are being replaced
        if sorted(jobs) == names and set(jobs.values()) == {"COMPLETED"}:
            break
        time.sleep(0.5)
    assert sorted(jobs) == names and set(jobs.values()) == {"COMPLETED"}, jobs
    records = [store.get(JOB, "us-east-1", name) for name in names]
    # Each completed once: one status move after its last claim (a job given back is claimed again).
    assert all(r.revision == len(claim_pids(r)) + 1 for r in records), [(r.revision, r.internal["Claims"]) for r in records]
