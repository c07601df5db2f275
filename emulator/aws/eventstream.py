"""The `application/vnd.amazon.eventstream` codec: encode and incrementally decode messages.

Source: TRANSCRIBE_API_DIGEST.md §5.4 (format and byte-level example), the AWS event stream
encoding as implemented by botocore (`botocore/eventstream.py`: decoding here is its
`EventStreamBuffer`, with our limits, value types and error messages) and amazon-transcribe
(`eventstream.py`, encode side). All integers big-endian:

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

from botocore.eventstream import ChecksumMismatch, EventStreamBuffer, EventStreamHeaderParser, ParserError

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


# --- decoding (botocore's EventStreamBuffer) ------------------------------------------


def _exact(unpack):
    """A botocore value unpacker that fails where the value runs past the header block
    (botocore would cut it short)."""

    def unpack_exact(data: bytes):
        value, consumed = unpack(data)
        if consumed > len(data):
            raise EventStreamError("event stream header value runs past the header block")
        return value, consumed

    return unpack_exact


class _HeaderParser(EventStreamHeaderParser):
    """botocore's header parser, returning `Timestamp` and `uuid.UUID` (botocore: int, bytes)."""

    _HEADER_TYPE_MAP = {
        kind: _exact(unpack)
        for kind, unpack in {
            **EventStreamHeaderParser._HEADER_TYPE_MAP,
            _TIMESTAMP: lambda data: (Timestamp(struct.unpack(">q", data[:8])[0]), 8),
            _UUID: lambda data: (uuid.UUID(bytes=bytes(data[:16])) if len(data) >= 16 else None, 16),
        }.items()
    }


class _Buffer(EventStreamBuffer):
    """botocore's incremental decoder with this module's limits, value types and errors."""

    def __init__(self) -> None:
        super().__init__()
        self._header_parser = _HeaderParser()

    @property
    def pending(self) -> int:
        return len(self._data)

    def _validate_prelude(self, prelude) -> None:
        if prelude.headers_length > MAX_HEADERS_LENGTH:
            raise EventStreamError(
                f"event stream headers length {prelude.headers_length} exceeds {MAX_HEADERS_LENGTH}"
            )
        if prelude.payload_length < 0:
            raise EventStreamError(f"event stream total length {prelude.total_length} is too small for its headers")
        if prelude.payload_length > MAX_PAYLOAD_LENGTH:
            raise EventStreamError(
                f"event stream payload length {prelude.payload_length} exceeds {MAX_PAYLOAD_LENGTH}"
            )

    def next_message(self) -> Message | None:
        """The next complete message, None when more bytes are needed; raises EventStreamError."""
        try:
            parsed = self.next()
        except StopIteration:
            return None
        except ChecksumMismatch as error:  # botocore raises it for both CRCs; the prelude is read first
            where = "prelude" if self._prelude is None else "message"
            raise EventStreamError(f"event stream {where} c{str(error)[1:]}") from None
        except KeyError as error:  # botocore's table of header value types
            raise EventStreamError(f"unknown event stream header type {error.args[0]}") from None
        except ParserError as error:  # a duplicate header
            raise EventStreamError(f"event stream header block is invalid: {error}") from None
        except (IndexError, struct.error) as error:
            raise EventStreamError("event stream header block is truncated") from error
        except UnicodeDecodeError as error:
            raise EventStreamError("event stream header is not valid UTF-8") from error
        return Message(parsed.headers, bytes(parsed.payload))


def decode_message(data: bytes) -> Message:
    """Decode exactly one complete message; raises EventStreamError."""
    if len(data) < OVERHEAD:
        raise EventStreamError(f"event stream message of {len(data)} bytes is shorter than 16")
    buffer = _Buffer()
    buffer.add_data(bytes(data))
    message = buffer.next_message()
    if message is None or buffer.pending:
        (total,) = struct.unpack(">I", bytes(data[:4]))
        raise EventStreamError(f"event stream message length {total} does not match {len(data)} bytes")
    return message


class EventStreamDecoder:
    """Incremental decoder: `feed(bytes)` returns the messages completed so far.

    Accepts any split of the byte stream. After an EventStreamError the stream has lost its
    framing; the decoder stays failed (every later feed raises again). `pending` is the
    number of buffered bytes of an incomplete message (non-zero at end of stream means a
    truncated message).
    """

    def __init__(self) -> None:
        self._buffer = _Buffer()
        self._failed: EventStreamError | None = None

    @property
    def pending(self) -> int:
        return self._buffer.pending

    def feed(self, data: bytes) -> list[Message]:
        if self._failed is not None:
            raise self._failed
        self._buffer.add_data(bytes(data))
        messages: list[Message] = []
        try:
            while (message := self._buffer.next_message()) is not None:
                messages.append(message)
        except EventStreamError as error:
            self._failed = error
            raise
        return messages
