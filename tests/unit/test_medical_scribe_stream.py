"""HealthScribe streaming, the pure parts: start headers, the configuration event, input events,
TranscriptSegment JSON, the session timeline on resume, and the post-stream documents built from
kept final results."""

from __future__ import annotations

import json

import pytest

from emulator.aws.errors import BadRequestException, ValidationException
from emulator.aws.eventstream import EventStreamDecoder, Message, event
from emulator.service.medical_scribe_pipeline import scribe_documents
from emulator.service.medical_scribe_stream import (
    ScribeConfiguration,
    parse_configuration,
    parse_start,
    segment_ids,
    segment_of,
    shift_result,
    tokens_of_segments,
)
from emulator.service.stream_results import ResultAlternative, ResultItem, TranscriptResult
from emulator.streaming.medical_scribe_events import input_event, segment_events, segment_json

ROLE = "arn:aws:iam::123456789012:role/scribe"
CONFIG = {
    "ResourceAccessRoleArn": ROLE,
    "PostStreamAnalyticsSettings": {"ClinicalNoteGenerationSettings": {"OutputBucketName": "notes-bucket"}},
}


def result(result_id: str, words: list[tuple[str, float, float]], partial=False, channel=None, speaker=None):
    items = []
    for text, start, end in words:
        kind = "punctuation" if text in ".,?" else "pronunciation"
        confidence = None if partial or kind == "punctuation" else 0.9
        items.append(ResultItem(start, end, kind, text, False, speaker, confidence))
    transcript = " ".join(w for w, _, _ in words).replace(" .", ".")
    return TranscriptResult(
        result_id, words[0][1], words[-1][2], partial, (ResultAlternative(transcript, tuple(items)),), channel
    )


def test_start_headers_en_us_and_16_khz_at_least():
    settings, echoed = parse_start({"language-code": "en-US", "sample-rate": "16000", "media-encoding": "pcm"})
    assert settings.sample_rate == 16000 and len(settings.session_id) == 36
    assert dict(echoed) == {"language-code": "en-US", "sample-rate": "16000", "media-encoding": "pcm"}
    with pytest.raises(ValidationException) as raised:
        parse_start({"language-code": "en-GB", "sample-rate": "8000", "media-encoding": "pcm"})
    assert "2 validation errors" in raised.value.message and "[en-US]" in raised.value.message
    assert "greater than or equal to 16000" in raised.value.message
    with pytest.raises(ValidationException):
        parse_start({"language-code": "en-US", "sample-rate": "16000", "media-encoding": "mp3"})
    with pytest.raises(ValidationException, match="Value null at 'languageCode'"):
        parse_start({"sample-rate": "16000", "media-encoding": "pcm"})


def test_configuration_event_members():
    config = parse_configuration({
        **CONFIG,
        "ChannelDefinitions": [
            {"ChannelId": 1, "ParticipantRole": "PATIENT"},
            {"ChannelId": 0, "ParticipantRole": "CLINICIAN"},
        ],
        "VocabularyFilterName": "f", "VocabularyFilterMethod": "tag",
        "EncryptionSettings": {"KmsKeyId": "k"},
        "MedicalScribeContext": {"PatientContext": {"Pronouns": "SHE_HER"}},
    })
    assert config.channel_definitions == ((0, "CLINICIAN"), (1, "PATIENT"))
    details = config.details()
    assert details["ChannelDefinitions"][0] == {"ChannelId": 0, "ParticipantRole": "CLINICIAN"}
    clinical = {"OutputBucketName": "notes-bucket"}
    assert details["PostStreamAnalyticsSettings"] == {"ClinicalNoteGenerationSettings": clinical}
    assert details["VocabularyFilterMethod"] == "tag" and config.context is not None


@pytest.mark.parametrize(
    "change, error, words",
    [
        ({"ResourceAccessRoleArn": None}, ValidationException, "'resourceAccessRoleArn'"),
        ({"ResourceAccessRoleArn": "role"}, ValidationException, "regular expression"),
        ({"PostStreamAnalyticsSettings": None}, ValidationException, "'postStreamAnalyticsSettings'"),
        ({"PostStreamAnalyticsSettings": {"ClinicalNoteGenerationSettings": {"OutputBucketName": "B!"}}},
         ValidationException, "outputBucketName"),
        ({"PostStreamAnalyticsSettings": {"ClinicalNoteGenerationSettings": {"OutputBucketName": "b-1",
                                                                              "NoteTemplate": "SOAP"}}},
         ValidationException, "noteTemplate"),
        ({"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "CLINICIAN"}]}, ValidationException,
         "length equal to 2"),
        ({"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "CLINICIAN"},
                                 {"ChannelId": 1, "ParticipantRole": "CLINICIAN"}]}, BadRequestException,
         "one with the participant role CLINICIAN"),
        ({"VocabularyFilterName": "f"}, BadRequestException, "VocabularyFilterMethod is required"),
        ({"EncryptionSettings": {}}, ValidationException, "encryptionSettings.kmsKeyId"),
    ],
)
def test_configuration_event_errors(change, error, words):
    with pytest.raises(error) as raised:
        parse_configuration({**CONFIG, **change})
    assert type(raised.value) is error and words in raised.value.message


def test_input_events():
    assert input_event(Message({":message-type": "event", ":event-type": "AudioEvent"}, b"\x01\x02")) == (
        "audio", b"\x01\x02"
    )
    config = Message({":message-type": "event", ":event-type": "ConfigurationEvent"}, json.dumps(CONFIG).encode())
    assert input_event(config) == ("config", CONFIG)
    end = Message({":message-type": "event", ":event-type": "SessionControlEvent"}, b'{"Type": "END_OF_SESSION"}')
    assert input_event(end) == ("control", "END_OF_SESSION")
    with pytest.raises(ValidationException):
        input_event(Message({":message-type": "event", ":event-type": "SessionControlEvent"}, b'{"Type": "PAUSE"}'))
    with pytest.raises(BadRequestException, match="unexpected message"):
        input_event(Message({":message-type": "event", ":event-type": "TranscriptEvent"}, b"{}"))
    with pytest.raises(BadRequestException, match="not a JSON object"):
        input_event(Message({":message-type": "event", ":event-type": "ConfigurationEvent"}, b"[1]"))


def test_transcript_segment_json():
    final = result("r1", [("Hello", 0.5, 0.9), ("there", 0.9, 1.3), (".", 1.3, 1.3)], channel="ch_1")
    segment = segment_json(final)
    assert segment["SegmentId"] == "r1" and segment["Content"] == "Hello there."
    assert (segment["BeginAudioTime"], segment["EndAudioTime"], segment["IsPartial"]) == (0.5, 1.3, False)
    assert segment["ChannelId"] == "ch_1"
    assert segment["Items"][0] == {
        "BeginAudioTime": 0.5, "EndAudioTime": 0.9, "Type": "pronunciation", "Confidence": 0.9, "Content": "Hello"
    }
    assert "Confidence" not in segment["Items"][2]
    partial = segment_json(result("r2", [("Hi", 0.1, 0.2)], partial=True))
    assert "ChannelId" not in partial and "Confidence" not in partial["Items"][0] and partial["IsPartial"]
    (message,) = EventStreamDecoder().feed(segment_events([final])[0])
    assert message.event_type == "TranscriptEvent"
    assert json.loads(message.payload) == {"TranscriptSegment": segment}
    assert segment_events([final])[0] == event("TranscriptEvent", json.dumps({"TranscriptSegment": segment}).encode())


def test_resumed_results_continue_the_timeline():
    shifted = shift_result(result("r", [("word", 1.0, 1.5)]), 10.0)
    assert (shifted.start_time, shifted.end_time) == (11.0, 11.5)
    assert shifted.alternatives[0].items[0].start_time == 11.0


def test_documents_of_kept_results_cite_streamed_segment_ids():
    kept = [
        segment_of(result("seg-a", [("I", 0.5, 0.6), ("have", 0.6, 0.8), ("a", 0.8, 0.9), ("cough", 0.9, 1.4),
                                    (".", 1.4, 1.4)], speaker="0")),
        segment_of(result("seg-b", [("Take", 2.0, 2.3), ("this", 2.3, 2.5), ("tablet", 2.5, 3.0), (".", 3.0, 3.0)],
                          speaker="1")),
    ]
    tokens, ids = tokens_of_segments(json.loads(json.dumps(kept)))  # as stored
    assert ids == ["seg-a", "seg-b"] and tokens[0].speaker == "0" and tokens[3].confidence == 0.9
    transcript, note = scribe_documents(tokens, None, None, {"SessionId": "s"}, segment_ids(ids))
    segments = transcript["Conversation"]["TranscriptSegments"]
    assert [s["SegmentId"] for s in segments] == ["seg-a", "seg-b"]
    # Roles come from the speech (service/clinical_roles.py): the first-person symptom is the
    # patient's, the instruction the clinician's, whoever speaks first.
    assert [s["ParticipantDetails"]["ParticipantRole"] for s in segments] == ["PATIENT_0", "CLINICIAN_0"]
    links = {link["SegmentId"] for s in note["ClinicalDocumentation"]["Sections"] for e in s["Summary"]
             for link in e["EvidenceLinks"]}
    assert links == {"seg-a", "seg-b"}


def test_a_result_split_between_speakers_gets_a_second_id():
    kept = [segment_of(result("seg", [("Hello", 0.0, 0.5), ("doctor", 0.5, 1.0)], speaker="0"))]
    kept[0]["Items"][1][5] = "1"  # the second word is another speaker's
    tokens, ids = tokens_of_segments(kept)
    transcript, _ = scribe_documents(tokens, None, None, {}, segment_ids(ids))
    found = [s["SegmentId"] for s in transcript["Conversation"]["TranscriptSegments"]]
    assert found[0] == "seg" and len(set(found)) == 2


def test_configuration_details_round_trip():
    config = ScribeConfiguration(ROLE, "b-1", "DAP")
    assert parse_configuration(config.details()) == config
