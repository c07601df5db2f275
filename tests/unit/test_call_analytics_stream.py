"""Pure parts of StartCallAnalyticsStreamTranscription: the ConfigurationEvent, where post-call
output goes, which categories wait for the end of the call, the stereo WAV of the stream, and
the UtteranceEvent / CategoryEvent JSON."""

from __future__ import annotations

import io
import json
import wave

import av
import numpy as np
import pytest

from emulator.aws.errors import BadRequestException, ValidationException
from emulator.engine.media import SAMPLE_RATE, decode
from emulator.service.call_analytics_stream import (
    CategoryMatch,
    Utterance,
    decided_at_end,
    output_folder,
    parse_configuration,
    stereo_wav,
)
from emulator.service.stream_results import ResultEntity, ResultItem
from emulator.streaming.call_analytics_events import call_analytics_events, category_json, utterance_json
from tests.support import audio_path

ROLE = "arn:aws:iam::111122223333:role/Analytics"


def configuration(**members) -> bytes:
    return json.dumps(members).encode()


def test_channel_definitions_give_the_roles():
    swapped = [{"ChannelId": 1, "ParticipantRole": "AGENT"}, {"ChannelId": 0, "ParticipantRole": "CUSTOMER"}]
    assert parse_configuration(configuration(ChannelDefinitions=swapped), False).roles == ("CUSTOMER", "AGENT")
    assert parse_configuration(b"{}", False).roles == ("AGENT", "CUSTOMER")  # AGENT on channel 0 by default


@pytest.mark.parametrize(
    "definitions",
    [
        [{"ChannelId": 0, "ParticipantRole": "AGENT"}],
        [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "AGENT"}],
        [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 2, "ParticipantRole": "CUSTOMER"}],
        [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CALLER"}],
        "AGENT",
    ],
)
def test_bad_channel_definitions(definitions):
    with pytest.raises(BadRequestException, match="ChannelDefinitions must define channel 0 and channel 1"):
        parse_configuration(configuration(ChannelDefinitions=definitions), False)


def test_post_call_settings():
    settings = {"OutputLocation": "s3://out/calls/", "DataAccessRoleArn": ROLE, "OutputEncryptionKMSKeyId": "k1"}
    post = parse_configuration(configuration(PostCallAnalyticsSettings=settings), False).post_call
    assert (post.output_location, post.data_access_role_arn, post.output_encryption_kms_key_id) == (
        "s3://out/calls/", ROLE, "k1",
    )
    redacted = {**settings, "ContentRedactionOutput": "redacted_and_unredacted"}
    post = parse_configuration(configuration(PostCallAnalyticsSettings=redacted), True).post_call
    assert post.content_redaction_output == "redacted_and_unredacted"


def test_post_call_settings_errors():
    with pytest.raises(ValidationException) as missing:
        parse_configuration(configuration(PostCallAnalyticsSettings={"OutputLocation": "s3://out/"}), False)
    assert "'postCallAnalyticsSettings.dataAccessRoleArn' failed to satisfy constraint: Member must not be null" in str(
        missing.value.message
    )
    with pytest.raises(ValidationException, match="regular expression pattern"):
        parse_configuration(
            configuration(PostCallAnalyticsSettings={"OutputLocation": "s3://out/", "DataAccessRoleArn": "admin"}),
            False,
        )
    no_redaction = {"OutputLocation": "s3://out/", "DataAccessRoleArn": ROLE, "ContentRedactionOutput": "redacted"}
    with pytest.raises(BadRequestException, match="ContentRedactionOutput requires ContentRedactionType"):
        parse_configuration(configuration(PostCallAnalyticsSettings=no_redaction), False)
    with pytest.raises(BadRequestException, match="isn't an S3 location"):
        parse_configuration(
            configuration(PostCallAnalyticsSettings={"OutputLocation": "https://x/y", "DataAccessRoleArn": ROLE}), False
        )
    with pytest.raises(BadRequestException, match="couldn't be read"):
        parse_configuration(b"{not json", False)


def test_output_folder():
    assert output_folder(None) == ""
    assert output_folder("calls/") == "calls/"
    assert output_folder("calls/2026/call.json") == "calls/2026/"
    assert output_folder("call.json") == ""


def test_categories_decided_at_the_end():
    said = {"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": ["refund"]}}
    assert not decided_at_end({"Rules": [said]})
    first_five_seconds = {**said["TranscriptFilter"], "AbsoluteTimeRange": {"First": 5000}}
    assert not decided_at_end({"Rules": [{"TranscriptFilter": first_five_seconds}]})
    assert decided_at_end({"Rules": [{"TranscriptFilter": {**said["TranscriptFilter"], "Negate": True}}]})
    assert decided_at_end({"Rules": [said, {"NonTalkTimeFilter": {"Threshold": 3000}}]})
    first_half = {"Sentiments": ["NEGATIVE"], "RelativeTimeRange": {"First": 50}}
    assert decided_at_end({"Rules": [{"SentimentFilter": first_half}]})
    assert decided_at_end({"Rules": [{"InterruptionFilter": {"AbsoluteTimeRange": {"Last": 5000}}}]})


def _read_wav(data: bytes) -> tuple[int, int, np.ndarray]:
    with wave.open(io.BytesIO(data)) as reader:
        frames = np.frombuffer(reader.readframes(reader.getnframes()), "<i2")
        return reader.getnchannels(), reader.getframerate(), frames.reshape(-1, reader.getnchannels())


def test_stereo_wav_of_pcm_keeps_the_audio_as_sent():
    interleaved = np.array([[1, -1], [2, -2], [3, -3]], dtype="<i2").tobytes() + b"\x07"  # a torn last frame
    channels, rate, frames = _read_wav(stereo_wav(interleaved, "pcm", 8000))
    assert (channels, rate) == (2, 8000)
    assert frames.tolist() == [[1, -1], [2, -2], [3, -3]]


def test_stereo_wav_of_flac_is_decoded():
    speech = decode(audio_path("sb_spk2_snt1"))[: SAMPLE_RATE]
    stereo = np.stack([speech, np.zeros_like(speech)])
    out = io.BytesIO()
    with av.open(out, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE, layout="stereo")
        pcm = (stereo * 32767).astype("<i2").T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    channels, rate, frames = _read_wav(stereo_wav(out.getvalue(), "flac", SAMPLE_RATE))
    assert (channels, rate) == (2, SAMPLE_RATE)
    assert abs(len(frames) - SAMPLE_RATE) < 100
    assert np.abs(frames[:, 0]).max() > 1000 and np.abs(frames[:, 1]).max() == 0  # the channels kept apart


def test_utterance_json_in_milliseconds():
    items = (
        ResultItem(1.2, 1.5, "pronunciation", "John", confidence=0.91, vocabulary_filter_match=False, stable=True),
        ResultItem(1.5, 1.5, "punctuation", ".", vocabulary_filter_match=False, stable=True),
    )
    final = Utterance(
        "u1", False, "AGENT", 1.2, 1.5, "John.", items,
        entities=(ResultEntity(1.2, 1.5, "PII", "John", 0.87, "NAME"),), sentiment="NEUTRAL", issues_detected=((0, 5),),
    )
    assert utterance_json(final) == {
        "UtteranceId": "u1",
        "IsPartial": False,
        "ParticipantRole": "AGENT",
        "BeginOffsetMillis": 1200,
        "EndOffsetMillis": 1500,
        "Transcript": "John.",
        "Items": [
            {"BeginOffsetMillis": 1200, "EndOffsetMillis": 1500, "Type": "pronunciation", "Content": "John",
             "Confidence": 0.91, "VocabularyFilterMatch": False, "Stable": True},
            {"BeginOffsetMillis": 1500, "EndOffsetMillis": 1500, "Type": "punctuation", "Content": ".",
             "VocabularyFilterMatch": False, "Stable": True},
        ],
        "Entities": [{"BeginOffsetMillis": 1200, "EndOffsetMillis": 1500, "Category": "PII", "Type": "NAME",
                      "Content": "John", "Confidence": 0.87}],
        "Sentiment": "NEUTRAL",
        "IssuesDetected": [{"CharacterOffsets": {"Begin": 0, "End": 5}}],
    }
    partial = Utterance("u1", True, "CUSTOMER", 0.0, 0.4, "Jo", ())
    assert set(utterance_json(partial)) == {
        "UtteranceId", "IsPartial", "ParticipantRole", "BeginOffsetMillis", "EndOffsetMillis", "Transcript", "Items",
    }


def test_category_event_json_and_framing():
    match = CategoryMatch(("network-complaint",), (("network issues", ((19010, 22690),)),))
    assert category_json(match) == {
        "MatchedCategories": ["network-complaint"],
        "MatchedDetails": {
            "network issues": {"TimestampRanges": [{"BeginOffsetMillis": 19010, "EndOffsetMillis": 22690}]}
        },
    }
    category, utterance = call_analytics_events([match, Utterance("u", True, "AGENT", 0, 0, "", ())])
    assert b"CategoryEvent" in category and b"UtteranceEvent" in utterance


def test_language_outside_call_analytics_languages_is_refused_before_the_stream():
    from emulator.service.call_analytics_stream import CallAnalyticsStreamSessions
    from emulator.service.context import RequestContext

    sessions = CallAnalyticsStreamSessions(streaming=None)  # refused before any session is opened
    with pytest.raises(ValidationException) as refused:
        sessions.open(RequestContext("us-east-1", "123456789012"), {"language-code": "ja-JP", "media-encoding": "pcm"})
    assert refused.value.code == "BadRequestException"
    assert "Value 'ja-JP' at 'languageCode' failed to satisfy constraint: Member must satisfy enum value set: [de-DE," in (
        refused.value.message
    )
