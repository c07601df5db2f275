"""The event stream codec (emulator.aws.eventstream) against the digest's byte-level example and
botocore's decoder (botocore.eventstream, the reference implementation on the decode side)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timezone

import pytest
from botocore.eventstream import EventStreamBuffer

from emulator.aws.eventstream import (
    EventStreamDecoder,
    EventStreamError,
    Int8,
    Int16,
    Int64,
    Message,
    Timestamp,
    decode_message,
    encode_message,
    event,
    exception_event,
)

# TRANSCRIBE_API_DIGEST.md §5.4: an AudioEvent with payload 01 00 ff 7f, 108 bytes.
DIGEST_EXAMPLE = bytes.fromhex(
    "0000006c000000585c509ce3"
    "0d3a6d6573736167652d74797065070005" + b"event".hex()
    + "0b3a6576656e742d7479706507000a" + b"AudioEvent".hex()
    + "0d3a636f6e74656e742d74797065070018" + b"application/octet-stream".hex()
    + "0100ff7f" "303d6765"
)
AUDIO_HEADERS = {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"}


def botocore_decode(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_encodes_the_digest_example_byte_for_byte():
    assert encode_message(AUDIO_HEADERS, bytes.fromhex("0100ff7f")) == DIGEST_EXAMPLE


def test_decodes_the_digest_example():
    assert decode_message(DIGEST_EXAMPLE) == Message(AUDIO_HEADERS, bytes.fromhex("0100ff7f"))


def test_every_header_type_round_trips_and_botocore_reads_it():
    headers = {
        "true": True, "false": False, "byte": Int8(-7), "short": Int16(300), "int": 70000,
        "long": Int64(2**40), "bytes": b"\x00\xff", "string": "héllo", ":date": Timestamp(1700000000123),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }
    data = encode_message(headers, b"payload")
    assert decode_message(data).headers == headers
    [message] = botocore_decode(data)
    assert message.headers["string"] == "héllo" and message.headers[":date"] == 1700000000123
    assert message.headers["bytes"] == b"\x00\xff" and message.headers["long"] == 2**40
    assert message.payload == b"payload"


def test_datetime_headers_are_milliseconds():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert decode_message(encode_message({":date": moment})).headers[":date"] == 1767323045678


def test_decoder_accepts_any_split_of_the_stream():
    messages = [
        (AUDIO_HEADERS, bytes(range(256)) * 3),
        ({":message-type": "event", ":event-type": "AudioEvent"}, b""),
        ({":date": Timestamp(1), ":chunk-signature": b"s" * 32}, DIGEST_EXAMPLE),
    ]
    stream = b"".join(encode_message(h, p) for h, p in messages)
    rng = random.Random(7)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(stream)), rng.randrange(1, 40)))
        decoder = EventStreamDecoder()
        out = []
        for a, b in zip([0, *cuts], [*cuts, len(stream)]):
            out += decoder.feed(stream[a:b])
        assert [(m.headers, m.payload) for m in out] == messages
        assert decoder.pending == 0


def test_a_payload_byte_flipped_fails_the_message_crc():
    data = bytearray(DIGEST_EXAMPLE)
    data[-6] ^= 0x01
    with pytest.raises(EventStreamError, match="message checksum"):
        EventStreamDecoder().feed(bytes(data))


def test_a_prelude_byte_flipped_fails_the_prelude_crc_and_the_decoder_stays_failed():
    data = bytearray(DIGEST_EXAMPLE)
    data[5] ^= 0x01
    decoder = EventStreamDecoder()
    with pytest.raises(EventStreamError, match="prelude checksum"):
        decoder.feed(bytes(data))
    with pytest.raises(EventStreamError):
        decoder.feed(DIGEST_EXAMPLE)


def test_garbage_is_an_error_not_a_hang():
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(b"\x00\x00\x00\x20" + b"not an event stream" * 3)


def test_server_events_read_back_with_botocore():
    [message] = botocore_decode(event("TranscriptEvent", b'{"Transcript":{"Results":[]}}'))
    assert message.headers == {
        ":message-type": "event", ":event-type": "TranscriptEvent", ":content-type": "application/json"
    }
    [error] = botocore_decode(exception_event("BadRequestException", "Bad."))
    assert error.headers[":message-type"] == "exception"
    assert error.headers[":exception-type"] == "BadRequestException"
    assert json.loads(error.payload) == {"Message": "Bad."}
