"""What the HTTP/2 and WebSocket transports share around a `StreamSession`.

* errors: `render_error` (restJson1 status, headers and `{"__type", "Message"}` body, before a
  stream starts) and `exception_frame` (`:message-type: exception`, during one), with the
  status table of the streaming API (Smithy httpError traits, digest §5.3);
* the start response's headers (`response_headers`: request id, session id, each supplied
  setting under its `x-amzn-transcribe-` name, digest §5.3);
* the input: `open_envelope` (signed envelope -> inner message bytes through the chunk
  signature chain, digest §6.3), `audio_of` (AudioEvent payload, end of stream, or an
  unexpected message), `receive_within` (AWS's idle timeout), `read_audio` and `AudioInbox`
  (the reader task's results, audio joined when it queued up);
* `pump`: audio from the inbox into the session, TranscriptEvent messages out.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from typing import Awaitable, Callable

from emulator.aws.errors import AWSError, BadRequestException, InternalFailureException
from emulator.aws.event_signing import ChunkSignatureChain
from emulator.aws.eventstream import Message, exception_event
from emulator.service.streaming import StreamSession
from emulator.streaming.transcript_events import transcript_events

log = logging.getLogger(__name__)

HEADER_PREFIX = "x-amzn-transcribe-"  # start parameters and their echo (digest §5.2, §5.3)
IDLE_TIMEOUT_SECONDS = 15.0
# AWS wording (observed; awslabs/amazon-transcribe-streaming-sdk issue 118).
IDLE_TIMEOUT_MESSAGE = "Your request timed out because no new audio was received for 15 seconds."
MSG_INTERNAL = "An internal error occurred."
# restJson1 statuses of the streaming API's errors (Smithy httpError traits, digest §5.3);
# other errors keep the status of their class.
STATUS = {
    "BadRequestException": 400,
    "ConflictException": 409,
    "LimitExceededException": 429,
    "InternalFailureException": 500,
    "ServiceUnavailableException": 503,
}
# Audio handed to recognition at once when it queued up: about one second (PCM), or AWS's largest
# AudioEvent (32 KB) for compressed audio, so a client ahead of real time still sees partials.
MAX_JOINED_AUDIO = 32 * 1024

Emit = Callable[[list[bytes]], Awaitable[None]]


class StreamEnded(Exception):
    """The client signalled the end of its audio."""


# --- errors ------------------------------------------------------------------------------


def render_error(error: AWSError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) of a restJson1 error before the stream starts."""
    body = json.dumps({"__type": error.code, "Message": error.message}).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-requestid", request_id.encode()),
        (b"x-amzn-errortype", error.code.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return STATUS.get(error.code, error.status), headers, body


def exception_frame(error: AWSError) -> bytes:
    """The `:message-type: exception` message of an error during a stream (digest §5.6)."""
    return exception_event(error.code, error.message)


def idle_timeout_error() -> BadRequestException:
    """What AWS answers when no audio arrived for IDLE_TIMEOUT_SECONDS."""
    return BadRequestException(IDLE_TIMEOUT_MESSAGE)


# --- start response ----------------------------------------------------------------------


def response_headers(session: StreamSession) -> list[tuple[bytes, bytes]]:
    """Headers of the start response (HTTP/2 200, WebSocket accept): request id, session id,
    each supplied setting echoed under its `x-amzn-transcribe-` name (digest §5.3)."""
    headers = [
        ("x-amzn-request-id", session.request_id),
        (HEADER_PREFIX + "session-id", session.session_id),
    ]
    headers += [(HEADER_PREFIX + short, value) for short, value in session.settings.echoed if short != "session-id"]
    return [(name.encode("latin-1"), value.encode("utf-8")) for name, value in headers]


# --- input -------------------------------------------------------------------------------


def open_envelope(envelope: Message, chain: ChunkSignatureChain | None) -> bytes | None:
    """The inner message bytes of a signed envelope, verified as the next link of `chain`
    (None: signature checks off, taken unchecked); None for the empty end-of-stream envelope.
    Raises BadRequestException (malformed envelope, signature off the chain)."""
    return (envelope.payload or None) if chain is None else chain.open(envelope)


def audio_of(message: Message, unexpected: str, implied_type: str | None = None) -> bytes | None:
    """An input event's audio: the AudioEvent's payload, None for the empty AudioEvent (end of
    stream), b"" for a ConfigurationEvent (call analytics only: ignored).

    unexpected: the BadRequestException message for any other message, `{}` standing for
    "<message type>/<event type>". implied_type: the `:message-type` taken when absent.
    """
    message_type = message.headers.get(":message-type", implied_type)
    kind = (message_type, message.event_type)
    if kind == ("event", "AudioEvent"):
        return message.payload or None
    if kind == ("event", "ConfigurationEvent"):
        return b""
    raise BadRequestException(unexpected.format(f"{kind[0]}/{kind[1]}"))


async def receive_within(receive, timeout: float) -> dict:
    """The next ASGI message; raises AWS's idle-timeout BadRequestException after `timeout` s."""
    try:
        return await asyncio.wait_for(receive(), timeout)
    except asyncio.TimeoutError:
        raise idle_timeout_error() from None


class AudioInbox:
    """What the reader found, in order; consecutive audio is handed out joined.

    Kinds: ("audio", bytes), ("end", None), ("error", AWSError), ("disconnect", None).
    max_joined: the most audio bytes handed out at once (0: MAX_JOINED_AUDIO).
    """

    def __init__(self, max_joined: int = 0) -> None:
        self.max_joined = max_joined or MAX_JOINED_AUDIO  # bytes
        self._items: collections.deque[tuple[str, object]] = collections.deque()
        self._ready = asyncio.Event()

    def put(self, kind: str, value) -> None:
        self._items.append((kind, value))
        self._ready.set()

    async def get(self) -> tuple[str, object]:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        kind, value = self._items.popleft()
        if kind == "audio":
            pieces = [value]
            size = len(value)
            while (
                self._items and self._items[0][0] == "audio" and size + len(self._items[0][1]) <= self.max_joined
            ):
                size += len(self._items[0][1])
                pieces.append(self._items.popleft()[1])
            value = b"".join(pieces)
        return kind, value


async def read_audio(inbox: AudioInbox, frames: Awaitable[None], what: str) -> str:
    """Run a transport's reader (`frames` puts ("audio", bytes) into the inbox, returns when the
    client disconnected, raises StreamEnded at the end of the audio) and put how it ended:
    ("end", None), ("error", AWSError) or ("disconnect", None). Returns that kind.
    what: names the stream in the log line of an unexpected failure."""
    try:
        await frames
        kind, value = "disconnect", None
    except StreamEnded:
        kind, value = "end", None
    except AWSError as error:
        kind, value = "error", error
    except Exception:  # noqa: BLE001 - one stream's failure must not take the server down
        log.exception("reading a %s failed", what)
        kind, value = "error", InternalFailureException(MSG_INTERNAL)
    inbox.put(kind, value)
    return kind


# --- output ------------------------------------------------------------------------------


async def pump(
    session: StreamSession,
    inbox: AudioInbox,
    emit: Emit,
    gone: asyncio.Event | None = None,
    render: Callable[[list], list[bytes]] = transcript_events,
) -> str:
    """Audio from the inbox into the session, its results out as TranscriptEvent messages
    (`render`: results -> encoded messages of another operation's event), until the end of the
    audio. Returns "end" (final results sent), "disconnect" (the client left, or `gone` was
    set: audio still queued is dropped) or "error" (the exception frame sent; the session
    records the error)."""
    try:
        while gone is None or not gone.is_set():
            kind, value = await inbox.get()
            if kind == "audio":
                if gone is None or not gone.is_set():
                    await emit(render(await session.audio(value)))
            elif kind == "end":
                await emit(render(await session.end()))
                return "end"
            elif kind == "error":
                raise value
            else:
                return "disconnect"
        return "disconnect"
    except AWSError as error:
        session.fail(error)
        await emit([exception_frame(error)])
    except Exception:  # noqa: BLE001 - one stream's failure must not take the server down
        log.exception("stream %s failed", session.session_id)
        error = InternalFailureException(MSG_INTERNAL)
        session.fail(error)
        await emit([exception_frame(error)])
    return "error"
