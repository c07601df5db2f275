"""WebSocket frame handling: query parameters and the audio of one binary frame (digest §5.5, §5.8)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from emulator.aws.errors import BadRequestException
from emulator.aws.event_signing import ChunkSignatureChain, sign_envelope
from emulator.aws.eventstream import encode_message
from emulator.streaming.websocket import END_OF_STREAM, audio_payload, stream_parameters

AUDIO_HEADERS = {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"}
SEED = "a" * 64
SECRET = "test"


def audio_event(payload: bytes, **headers) -> bytes:
    return encode_message({**AUDIO_HEADERS, **headers}, payload)


def test_stream_parameters_drop_signature_and_user_agent():
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20250101%2Fus-east-1%2Ftranscribe%2Faws4_request"
        "&X-Amz-Date=20250101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=abc"
        "&language-code=en-US&media-encoding=pcm&sample-rate=16000&session-id=x&user-agent=aws-sdk-js%2F3"
        "&vocabulary-name=my%20vocab"
    )
    assert stream_parameters(query) == {
        "language-code": "en-US",
        "media-encoding": "pcm",
        "sample-rate": "16000",
        "session-id": "x",
        "vocabulary-name": "my vocab",
    }


def test_stream_parameters_first_value_wins():
    assert stream_parameters("sample-rate=16000&sample-rate=8000") == {"sample-rate": "16000"}


def test_audio_event_payload():
    assert audio_payload(audio_event(b"\x01\x00\xff\x7f")) == b"\x01\x00\xff\x7f"


def test_audio_event_without_content_type_is_accepted():
    frame = encode_message({":message-type": "event", ":event-type": "AudioEvent"}, b"\x00\x01")
    assert audio_payload(frame) == b"\x00\x01"


@pytest.mark.parametrize("frame", [b"", audio_event(b"")], ids=["zero-length frame", "empty AudioEvent"])
def test_end_of_stream_frames(frame):
    assert audio_payload(frame) is END_OF_STREAM


def test_configuration_event_carries_no_audio():
    frame = encode_message({":message-type": "event", ":event-type": "ConfigurationEvent"}, b"{}")
    assert audio_payload(frame) == b""


def test_signed_envelopes_are_verified_as_a_chain():
    chain = ChunkSignatureChain(SEED, SECRET, "us-east-1")
    when = datetime(2025, 1, 1, tzinfo=timezone.utc)
    first, prior = sign_envelope(audio_event(b"\x01\x02"), SEED, SECRET, "us-east-1", when)
    end, _ = sign_envelope(b"", prior, SECRET, "us-east-1", when)
    assert audio_payload(first, chain) == b"\x01\x02"
    assert audio_payload(end, chain) is END_OF_STREAM


def test_wrongly_signed_envelope_is_refused():
    chain = ChunkSignatureChain(SEED, SECRET, "us-east-1")
    envelope, _ = sign_envelope(audio_event(b"\x01\x02"), "b" * 64, SECRET, "us-east-1", datetime.now(timezone.utc))
    with pytest.raises(BadRequestException):
        audio_payload(envelope, chain)


def test_signed_envelope_is_unwrapped_unchecked_when_signatures_are_off():
    envelope, _ = sign_envelope(audio_event(b"\x01"), "b" * 64, SECRET, "us-east-1", datetime.now(timezone.utc))
    assert audio_payload(envelope, None) == b"\x01"


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x10garbage-garbage!",
        audio_event(b"\x01\x02")[:-1] + b"\x00",  # message CRC broken
        b"not an event stream message at all",
    ],
    ids=["bad prelude", "bad message crc", "text as bytes"],
)
def test_malformed_frames_are_bad_requests(frame):
    with pytest.raises(BadRequestException, match="The audio stream couldn't be read"):
        audio_payload(frame)


def test_exception_or_unknown_event_is_refused():
    frame = encode_message({":message-type": "event", ":event-type": "TranscriptEvent"}, b"{}")
    with pytest.raises(BadRequestException, match="TranscriptEvent"):
        audio_payload(frame)
