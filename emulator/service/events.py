"""Amazon Transcribe's EventBridge events for job and resource state changes.

Source: AWS's developer guide, "Using Amazon EventBridge with Amazon Transcribe"
(monitoring-events), and the EventBridge reference's list of Transcribe events: source
`aws.transcribe`, an event when a job goes from IN_PROGRESS to COMPLETED or FAILED and when a
vocabulary goes from PENDING to READY or FAILED; `FailureReason` in `detail` on FAILED;
`resources` empty. Detail members per event (AWS's examples):

| kind | detail-type | detail |
|---|---|---|
| transcription job | Transcribe Job State Change | TranscriptionJobName, TranscriptionJobStatus |
| Call Analytics job | Call Analytics Job State Change | JobName, JobStatus |
| vocabulary, medical vocabulary | Vocabulary State Change | VocabularyName, VocabularyState |
| language model | Transcribe Language Model State Change | ModelName, ModelStatus |
| medical transcription job | Medical Transcription Job State Change | MedicalTranscriptionJobName, TranscriptionJobStatus |
| HealthScribe job | Medical Scribe Job State Change | MedicalScribeJobName, MedicalScribeJobStatus |

AWS documents no event for medical or HealthScribe jobs; the last two rows are the emulator's
choice, named after their API members (README, Differences from AWS). The account and region
of an event are the EventBridge server's (the caller's account, the client's region): the
publisher sends each event in its job's region.
"""

from __future__ import annotations

import json
import time

from emulator.service import state_log
from emulator.storage.eventbridge import Entry, EventBridgePublisher

SOURCE = "aws.transcribe"
JOB_END = ("COMPLETED", "FAILED")
# Store kind -> (detail-type, name member, status member, the states that send an event)
EVENTS = {
    "transcription-job": ("Transcribe Job State Change", "TranscriptionJobName", "TranscriptionJobStatus", JOB_END),
    "call-analytics-job": ("Call Analytics Job State Change", "JobName", "JobStatus", JOB_END),
    "vocabulary": ("Vocabulary State Change", "VocabularyName", "VocabularyState", ("READY", "FAILED")),
    "medical-vocabulary": ("Vocabulary State Change", "VocabularyName", "VocabularyState", ("READY", "FAILED")),
    "language-model": ("Transcribe Language Model State Change", "ModelName", "ModelStatus", JOB_END),
    "medical-transcription-job": (
        "Medical Transcription Job State Change", "MedicalTranscriptionJobName", "TranscriptionJobStatus", JOB_END
    ),
    "medical-scribe-job": (
        "Medical Scribe Job State Change", "MedicalScribeJobName", "MedicalScribeJobStatus", JOB_END
    ),
}


def state_change_entry(
    kind: str, region: str, name: str, after: str | None, failure_reason: str | None, now: float
) -> Entry | None:
    """The event of `name` (of Store `kind`) reaching state `after`; None where AWS sends none
    (an intermediate state, a deletion, a kind without events such as vocabulary filters)."""
    if kind not in EVENTS:
        return None
    detail_type, name_member, status_member, states = EVENTS[kind]
    if after not in states:
        return None
    detail = {name_member: name, status_member: after}
    if after == "FAILED" and failure_reason:
        detail["FailureReason"] = failure_reason
    return Entry(region, SOURCE, detail_type, json.dumps(detail), now)


class StateChangeEvents:
    """Listens to emulator.service.state_log and publishes each change's event, if any."""

    def __init__(self, publisher: EventBridgePublisher, clock=time.time):
        self.publisher = publisher
        self.clock = clock

    def __call__(self, kind, region, name, before, after, failure_reason) -> None:
        entry = state_change_entry(kind, region, name, after, failure_reason, self.clock())
        if entry is not None:
            self.publisher.publish(entry)

    def start(self) -> "StateChangeEvents":
        state_log.listeners.append(self)
        return self

    def stop(self) -> None:
        if self in state_log.listeners:
            state_log.listeners.remove(self)
        self.publisher.close()
