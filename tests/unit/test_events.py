"""AWS's EventBridge events for state changes (emulator/service/events.py), as pure mapping."""

from __future__ import annotations

import json

import pytest

from emulator.service.events import state_change_entry


@pytest.mark.parametrize(
    "kind, after, detail_type, detail",
    [
        ("transcription-job", "COMPLETED", "Transcribe Job State Change",
         {"TranscriptionJobName": "n", "TranscriptionJobStatus": "COMPLETED"}),
        ("call-analytics-job", "COMPLETED", "Call Analytics Job State Change",
         {"JobName": "n", "JobStatus": "COMPLETED"}),
        ("vocabulary", "READY", "Vocabulary State Change", {"VocabularyName": "n", "VocabularyState": "READY"}),
        ("medical-vocabulary", "READY", "Vocabulary State Change", {"VocabularyName": "n", "VocabularyState": "READY"}),
        ("language-model", "COMPLETED", "Transcribe Language Model State Change",
         {"ModelName": "n", "ModelStatus": "COMPLETED"}),
        ("medical-transcription-job", "COMPLETED", "Medical Transcription Job State Change",
         {"MedicalTranscriptionJobName": "n", "TranscriptionJobStatus": "COMPLETED"}),
        ("medical-scribe-job", "COMPLETED", "Medical Scribe Job State Change",
         {"MedicalScribeJobName": "n", "MedicalScribeJobStatus": "COMPLETED"}),
    ],
)
def test_each_kind_has_its_detail_type_and_members(kind, after, detail_type, detail):
    entry = state_change_entry(kind, "eu-west-1", "n", after, None, 1.0)
    assert (entry.source, entry.detail_type, json.loads(entry.detail), entry.region) == (
        "aws.transcribe", detail_type, detail, "eu-west-1"
    )


def test_failure_reason_only_on_failed():
    entry = state_change_entry("transcription-job", "us-east-1", "n", "FAILED", "Unsupported media format.", 1.0)
    assert json.loads(entry.detail)["FailureReason"] == "Unsupported media format."


@pytest.mark.parametrize(
    "kind, after",
    [("transcription-job", "QUEUED"), ("transcription-job", "IN_PROGRESS"), ("transcription-job", None),
     ("vocabulary", "PENDING"), ("vocabulary-filter", "READY"), ("call-analytics-category", "READY")],
)
def test_no_event_where_aws_sends_none(kind, after):
    assert state_change_entry(kind, "us-east-1", "n", after, None, 1.0) is None
