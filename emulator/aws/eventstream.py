"""The `application/vnd.amazon.eventstream` codec: encode and incrementally decode messages.

Source: TRANSCRIBE_API_DIGEST.md §5.4 (format and byte-level example), the AWS event stream
encoding as implemented by botocore (`botocore/eventstream.py`, decode side) and
amazon-transcribe (`eventstream.py`, encode side). All integers big-endian:

    total_length u32 | headers_length u32 | prelude_crc u32 (CRC-32 of the first 8 bytes)
    headers (headers_length bytes) | payload | message_crc u32 (CRC-32 of everything before it)

Each header is `name_len u8 | name (UTF-8) | type u8 | value`; value types: 0 true, 1 false
(no value bytes), 2 int8, 3 int16, 4 int32, 5 int64, 6 bytes (u16 length + bytes),
7 string (u16 length + UTF-8), 8 timestamp (int64 milliseconds since the epoch), 9 UUID (16 bytes).

Use:

    from emulator.aws.eventstream import EventStreamDecoder, encode_message, event, exception_event

    decoder = EventStreamDecoder()
    for message in decoder.feed(chunk):          # any split of the byte stream
        message.headers[":event-type"], message.payload
    wire = event("TranscriptEvent", json_bytes)  # a server -> client event message
    wire = exception_event("BadRequestException", "What went wrong.")

Python value -> header type when encoding: `bool` -> 0/1, `int` -> 4 (int32) or 5 (int64 when it
does not fit), `bytes` -> 6, `str` -> 7, `datetime` -> 8, `uuid.UUID` -> 9; wrap an int in
`Timestamp(ms)` to force type 8 (the `:date` header of signed envelopes is type 8) or in
`Int8/Int16/Int64` to force a size. Decoding returns bool, int, bytes, str, `Timestamp` (an int
of milliseconds) and `uuid.UUID`.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = [
    "Message",
    "EventStreamError",
    "EventStreamDecoder",
    "Timestamp",
    "Int8",
    "Int16",
    "Int64",
    "encode_message",
    "encode_headers",
    "decode_message",
    "event",
    "exception_event",
    "error_message",
    "MAX_HEADERS_LENGTH",
    "MAX_PAYLOAD_LENGTH",
]

PRELUDE_LENGTH = 12  # total_length, headers_length, prelude_crc
OVERHEAD = PRELUDE_LENGTH + 4  # + message_crc
# Limits every AWS SDK enforces (botocore eventstream: _MAX_HEADERS_LENGTH, _MAX_PAYLOAD_LENGTH).
MAX_HEADERS_LENGTH = 128 * 1024
MAX_PAYLOAD_LENGTH = 16 * 1024 * 1024
MAX_HEADER_VALUE_LENGTH = 32767

_TRUE, _FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP, _UUID = range(10)


class EventStreamError(Exception):
    """A malformed message: bad prelude or message CRC, impossible lengths, bad header."""


class Timestamp(int):
    """Milliseconds since the epoch, encoded as header type 8."""


class Int8(int):
    """Encodes as header type 2."""


class Int16(int):
    """Encodes as header type 3."""


class Int64(int):
    """Encodes as header type 5."""


@dataclass(frozen=True)
class Message:
    """One decoded message: headers name -> value (see module docstring for types), raw payload."""

    headers: dict[str, object] = field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str | None:
        value = self.headers.get(":message-type")
        return value if isinstance(value, str) else None

    @property
    def event_type(self) -> str | None:
        value = self.headers.get(":event-type")
        return value if isinstance(value, str) else None


# --- encoding ----------------------------------------------------------------------


def _encode_value(value: object) -> bytes:
    if isinstance(value, bool):
        return bytes([_TRUE if value else _FALSE])
    if isinstance(value, Timestamp):
        return struct.pack(">Bq", _TIMESTAMP, value)
    if isinstance(value, Int8):
        return struct.pack(">Bb", _BYTE, value)
    if isinstance(value, Int16):
        return struct.pack(">Bh", _SHORT, value)
    if isinstance(value, Int64):
        return struct.pack(">Bq", _LONG, value)
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return struct.pack(">Bi", _INT, value)
        return struct.pack(">Bq", _LONG, value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return struct.pack(">Bq", _TIMESTAMP, int(round(moment.timestamp() * 1000)))
    if isinstance(value, uuid.UUID):
        return bytes([_UUID]) + value.bytes
    if isinstance(value, str):
        data = value.encode("utf-8")
        kind = _STRING
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        kind = _BYTES
    else:
        raise TypeError(f"unsupported event stream header value {value!r}")
    if len(data) > MAX_HEADER_VALUE_LENGTH:
        raise ValueError(f"header value longer than {MAX_HEADER_VALUE_LENGTH} bytes")
    return struct.pack(">BH", kind, len(data)) + data


def encode_headers(headers: dict[str, object]) -> bytes:
    """The header block alone (also what event signing hashes for `:date`, digest §6.3)."""
    out = bytearray()
    for name, value in headers.items():
        raw = name.encode("utf-8")
        if not 0 < len(raw) < 256:
            raise ValueError(f"header name must be 1-255 bytes: {name!r}")
        out += bytes([len(raw)]) + raw + _encode_value(value)
    return bytes(out)


def encode_message(headers: dict[str, object], payload: bytes = b"") -> bytes:
    """One complete message (prelude, headers, payload, both CRCs). Source: digest §5.4."""
    header_bytes = encode_headers(headers)
    if len(header_bytes) > MAX_HEADERS_LENGTH or len(payload) > MAX_PAYLOAD_LENGTH:
        raise ValueError("event stream message too large")
    total = OVERHEAD + len(header_bytes) + len(payload)
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + header_bytes + bytes(payload)
    return body + struct.pack(">I", zlib.crc32(body))


def event(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    """A server event: `:message-type` event, `:event-type`, `:content-type` (digest §5.6)."""
    return encode_message(
        {":message-type": "event", ":event-type": event_type, ":content-type": content_type}, payload
    )


def exception_event(exception_type: str, message: str) -> bytes:
    """A modelled error mid-stream: `:message-type` exception, `:exception-type`, JSON
    `{"Message": ...}` (digest §5.6; SDK parsers read `:exception-type`)."""
    return encode_message(
        {
            ":message-type": "exception",
            ":exception-type": exception_type,
            ":content-type": "application/json",
        },
        json.dumps({"Message": message}).encode("utf-8"),
    )


def error_message(error_code: str, error_message_text: str) -> bytes:
    """An unmodelled error: `:message-type` error with `:error-code` / `:error-message`."""
    return encode_message(
        {":message-type": "error", ":error-code": error_code, ":error-message": error_message_text}
    )


# --- decoding ----------------------------------------------------------------------


def _decode_headers(data: bytes) -> dict[str, object]:
    headers: dict[str, object] = {}
    pos, end = 0, len(data)
    try:
        while pos < end:
            name_len = data[pos]
            pos += 1
            if name_len == 0:
                raise EventStreamError("event stream header with an empty name")
            name = data[pos : pos + name_len].decode("utf-8")
            pos += name_len
            kind = data[pos]
            pos += 1
            value: object
            if kind == _TRUE:
                value = True
            elif kind == _FALSE:
                value = False
            elif kind == _BYTE:
                (value,) = struct.unpack_from(">b", data, pos)
                pos += 1
            elif kind == _SHORT:
                (value,) = struct.unpack_from(">h", data, pos)
                pos += 2
            elif kind == _INT:
                (value,) = struct.unpack_from(">i", data, pos)
                pos += 4
            elif kind == _LONG:
                (value,) = struct.unpack_from(">q", data, pos)
                pos += 8
            elif kind in (_BYTES, _STRING):
                (length,) = struct.unpack_from(">H", data, pos)
                pos += 2
                raw = data[pos : pos + length]
                if len(raw) != length:
                    raise EventStreamError("event stream header value runs past the header block")
                pos += length
                value = raw.decode("utf-8") if kind == _STRING else bytes(raw)
            elif kind == _TIMESTAMP:
                (millis,) = struct.unpack_from(">q", data, pos)
                value = Timestamp(millis)
                pos += 8
            elif kind == _UUID:
                raw = data[pos : pos + 16]
                if len(raw) != 16:
                    raise EventStreamError("event stream header value runs past the header block")
                value = uuid.UUID(bytes=bytes(raw))
                pos += 16
            else:
                raise EventStreamError(f"unknown event stream header type {kind}")
            if pos > end:
                raise EventStreamError("event stream header value runs past the header block")
            headers[name] = value
    except (IndexError, struct.error) as error:
        raise EventStreamError("event stream header block is truncated") from error
    except UnicodeDecodeError as error:
        raise EventStreamError("event stream header is not valid UTF-8") from error
    return headers


def _check_prelude(prelude: bytes) -> tuple[int, int]:
    total, headers_length, prelude_crc = struct.unpack(">III", prelude)
    if zlib.crc32(prelude[:8]) != prelude_crc:
        raise EventStreamError(
            f"event stream prelude checksum mismatch: expected {prelude_crc:#010x}, "
            f"calculated {zlib.crc32(prelude[:8]):#010x}"
        )
    if headers_length > MAX_HEADERS_LENGTH:
        raise EventStreamError(f"event stream headers length {headers_length} exceeds {MAX_HEADERS_LENGTH}")
    payload_length = total - OVERHEAD - headers_length
    if payload_length < 0:
        raise EventStreamError(f"event stream total length {total} is too small for its headers")
    if payload_length > MAX_PAYLOAD_LENGTH:
        raise EventStreamError(f"event stream payload length {payload_length} exceeds {MAX_PAYLOAD_LENGTH}")
    return total, headers_length


def decode_message(data: bytes) -> Message:
    """Decode exactly one complete message; raises EventStreamError."""
    if len(data) < OVERHEAD:
        raise EventStreamError(f"event stream message of {len(data)} bytes is shorter than 16")
    total, headers_length = _check_prelude(bytes(data[:PRELUDE_LENGTH]))
    if total != len(data):
        raise EventStreamError(f"event stream message length {total} does not match {len(data)} bytes")
    (message_crc,) = struct.unpack(">I", data[-4:])
    calculated = zlib.crc32(data[:-4])
    if calculated != message_crc:
        raise EventStreamError(
            f"event stream message checksum mismatch: expected {message_crc:#010x}, calculated {calculated:#010x}"
        )
    headers = _decode_headers(bytes(data[PRELUDE_LENGTH : PRELUDE_LENGTH + headers_length]))
    return Message(headers, bytes(data[PRELUDE_LENGTH + headers_length : -4]))


class EventStreamDecoder:
    """Incremental decoder: `feed(bytes)` returns the messages completed so far.

    Accepts any split of the byte stream. After an EventStreamError the stream has lost its
    framing; the decoder stays failed (every later feed raises again). `pending` is the
    number of buffered bytes of an incomplete message (non-zero at end of stream means a
    truncated message).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._failed: EventStreamError | None = None

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        if self._failed is not None:
            raise self._failed
        self._buffer += data
        messages: list[Message] = []
        try:
            while len(self._buffer) >= PRELUDE_LENGTH:
                total, _ = _check_prelude(bytes(self._buffer[:PRELUDE_LENGTH]))
                if len(self._buffer) < total:
                    break
                raw = bytes(self._buffer[:total])
                del self._buffer[:total]
                messages.append(decode_message(raw))
        except EventStreamError as error:
            self._failed = error
            raise
        return messages
