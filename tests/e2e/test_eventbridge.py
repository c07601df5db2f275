"""Job and resource state changes as EventBridge events (--eventbridge-endpoint).

A real EventBridge API: moto's server (ThreadedMotoServer) on a free port, with a rule on the
default bus whose target is an SQS queue, as a user's pipeline would have. An emulator started
with --eventbridge-endpoint runs a real job; the queue receives AWS's event for it.
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.support import CREDENTIALS, EmulatorProcess, audio_path, free_port, wait_for_job


@pytest.fixture(scope="module")
def eventbridge():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def queue(eventbridge):
    """An SQS queue that a rule for every aws.transcribe event feeds; returns (sqs client, url)."""
    sqs = boto3.client("sqs", endpoint_url=eventbridge, **CREDENTIALS)
    events = boto3.client("events", endpoint_url=eventbridge, **CREDENTIALS)
    url = sqs.create_queue(QueueName="transcribe-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="transcribe", EventPattern=json.dumps({"source": ["aws.transcribe"]}))
    events.put_targets(Rule="transcribe", Targets=[{"Id": "queue", "Arn": arn}])
    return sqs, url


@pytest.fixture(scope="module")
def publishing(tmp_path_factory, eventbridge):
    process = EmulatorProcess(
        tmp_path_factory.mktemp("eventbridge") / "data", extra_args=["--eventbridge-endpoint", eventbridge]
    ).start()
    yield process
    process.stop()


def received(queue, wanted, timeout: float = 60) -> list[dict]:
    """Events from the queue until `wanted(events)` holds (AssertionError with what came otherwise)."""
    sqs, url = queue
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not wanted(events):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert wanted(events), events
    return events


def test_a_completed_job_sends_its_event_to_the_rule_target(publishing, queue):
    s3 = publishing.s3()
    s3.create_bucket(Bucket="events")
    s3.upload_file(str(audio_path("jfk")), "events", "jfk.flac")
    transcribe = publishing.transcribe()
    name, broken = f"evented-{uuid.uuid4().hex[:8]}", f"evented-missing-{uuid.uuid4().hex[:8]}"
    transcribe.start_transcription_job(
        TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": "s3://events/jfk.flac"}
    )
    transcribe.start_transcription_job(
        TranscriptionJobName=broken, LanguageCode="en-US", Media={"MediaFileUri": "s3://events/none.flac"}
    )
    assert wait_for_job(transcribe, name)["TranscriptionJobStatus"] == "COMPLETED"
    failed = wait_for_job(transcribe, broken)
    assert failed["TranscriptionJobStatus"] == "FAILED"

    def both(events):
        return {e["detail"].get("TranscriptionJobName") for e in events} >= {name, broken}

    found = received(queue, both)
    events = {e["detail"]["TranscriptionJobName"]: e for e in found if "TranscriptionJobName" in e["detail"]}
    done = events[name]
    assert done["source"] == "aws.transcribe" and done["detail-type"] == "Transcribe Job State Change"
    assert done["detail"] == {"TranscriptionJobName": name, "TranscriptionJobStatus": "COMPLETED"}
    assert done["region"] == "us-east-1" and done["resources"] == [] and done["version"] == "0"
    assert events[broken]["detail"] == {
        "TranscriptionJobName": broken,
        "TranscriptionJobStatus": "FAILED",
        "FailureReason": failed["FailureReason"],
    }


def test_a_vocabulary_that_becomes_ready_sends_its_event(publishing, queue):
    name = f"evented-words-{uuid.uuid4().hex[:8]}"
    publishing.transcribe().create_vocabulary(VocabularyName=name, LanguageCode="en-US", Phrases=["Transcribe"])

    def ready(events):
        return any(e["detail"] == {"VocabularyName": name, "VocabularyState": "READY"} for e in events)

    events = received(queue, ready)
    kinds = {e["detail-type"] for e in events if e["detail"].get("VocabularyName") == name}
    assert kinds == {"Vocabulary State Change"}


def test_events_wait_for_an_endpoint_that_is_down_then_arrive(eventbridge):
    """The publisher keeps an event through failed PutEvents calls (backoff) until EventBridge answers.
    The rule and queue are made first through the module's moto server: moto's servers in one
    process share their backends, so the second server, started late, already has them."""
    from emulator.service.events import state_change_entry
    from emulator.storage.eventbridge import EventBridgePublisher

    regional = dict(CREDENTIALS, region_name="eu-west-1")
    sqs = boto3.client("sqs", endpoint_url=eventbridge, **regional)
    events = boto3.client("events", endpoint_url=eventbridge, **regional)
    url = sqs.create_queue(QueueName="late")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"detail-type": ["Transcribe Language Model State Change"]}
    events.put_rule(Name="late", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="late", Targets=[{"Id": "queue", "Arn": arn}])

    port = free_port()
    publisher = EventBridgePublisher(f"http://127.0.0.1:{port}", "test", "test", retry_delays=(0.5,) * 20)
    entry = state_change_entry("language-model", "eu-west-1", "late-model", "COMPLETED", None, time.time())
    publisher.publish(entry)  # returns at once although nothing listens yet
    time.sleep(1.5)  # a few refused tries
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        event = received((sqs, url), lambda found: bool(found), timeout=30)[0]
        assert event["detail"] == {"ModelName": "late-model", "ModelStatus": "COMPLETED"}
        assert event["region"] == "eu-west-1"
    finally:
        publisher.close()
        server.stop()
