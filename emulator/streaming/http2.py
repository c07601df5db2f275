"""HTTP/2 event-stream endpoints: `POST /stream-transcription`, `POST /medical-stream-transcription`.

A raw ASGI app (Starlette's StreamingResponse would consume the request body of this duplex
stream while listening for a disconnect: FIELD_NOTES "Servers"). Served by hypercorn over TLS
with ALPN h2 and as h2c on the plain port (digest §5.7).

Per request (digest §5.1-§5.6, §6.1, §6.3):
1. SigV4 of the start request (`SigV4Verifier.verify_headers`, the body hash taken from
   `X-Amz-Content-SHA256` when sent, else SHA-256 of nothing as amazon-transcribe signs);
   parameters from the `x-amzn-transcribe-*` headers; `StreamingSessions.open`. Any error
   here is a restJson error: status, `x-amzn-ErrorType`, `x-amzn-RequestId`, JSON body
   `{"__type", "Message"}`.
2. The 200 response headers go out at once (amazon-transcribe sends no audio before it has
   them), with `content-type: application/vnd.amazon.eventstream`.
3. The request body is decoded as an event stream while results are written back. Each
   message is a signed envelope (`:date`, `:chunk-signature`), verified as a chain seeded by
   the request signature, carrying an AudioEvent; unsigned AudioEvent messages are accepted
   too (hand-made clients). The stream ends at an empty envelope, an empty AudioEvent, or the
   end of the request body; then the final results and the end of the response body.
4. Errors during the stream are one `:message-type: exception` message, then the end of the
   response: BadRequestException for a malformed frame or a bad chunk signature, AWS's
   timeout message after IDLE_TIMEOUT_SECONDS without audio.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import uuid
from collections.abc import Mapping

from emulator.aws.errors import AWSError, BadRequestException, InternalFailureException
from emulator.aws.event_signing import ChunkSignatureChain, is_signed_envelope
from emulator.aws.eventstream import EventStreamDecoder, EventStreamError, Message
from emulator.aws.sigv4 import SigV4Verifier
from emulator.service.context import RequestContext
from emulator.service.streaming import IDLE_TIMEOUT_SECONDS, StreamingSessions, idle_timeout_error
from emulator.service.streaming_settings import parameters_from_headers

log = logging.getLogger(__name__)

STANDARD_PATH = "/stream-transcription"
MEDICAL_PATH = "/medical-stream-transcription"
EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
# restJson1 statuses of the streaming API's errors (Smithy httpError traits, digest §5.3);
# other errors keep the status of their class.
_STATUS = {
    "BadRequestException": 400,
    "ConflictException": 409,
    "LimitExceededException": 429,
    "InternalFailureException": 500,
    "ServiceUnavailableException": 503,
}
# Emulator wording (AWS does not publish these).
MALFORMED_FRAME = "The event stream message couldn't be read: {detail}. Send well-formed event stream messages."
UNEXPECTED_EVENT = (
    "The input stream carried an unexpected message ({kind}). "
    "Send AudioEvent messages (and ConfigurationEvent where the operation accepts it)."
)


def render_error(error: AWSError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) of a restJson1 error before the stream starts."""
    body = json.dumps({"__type": error.code, "Message": error.message}).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-requestid", request_id.encode()),
        (b"x-amzn-errortype", error.code.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return _STATUS.get(error.code, error.status), headers, body


def _region_from_unverified(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            text = value.decode("latin-1")
            if "Credential=" in text:
                scope = text.split("Credential=", 1)[1].split(",", 1)[0].split("/")
                if len(scope) >= 5:
                    return scope[2]
    return None


class _StreamEnded(Exception):
    """The client signalled the end of its audio."""


class Http2StreamingEndpoint:
    """ASGI app for both paths (mount it at each).

    sessions: the process's StreamingSessions. verifier: None turns SigV4 (and chunk
    signature) checks off. credentials: access key -> secret (to verify chunk signatures).
    account_id: the emulator's account; default_region: when nothing says otherwise.
    """

    def __init__(
        self,
        sessions: StreamingSessions,
        verifier: SigV4Verifier | None,
        credentials: Mapping[str, str],
        account_id: str,
        default_region: str,
    ):
        self.sessions = sessions
        self.verifier = verifier
        self.credentials = credentials
        self.account_id = account_id
        self.default_region = default_region

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        medical = scope["path"].rstrip("/") == MEDICAL_PATH
        try:
            if scope["method"] != "POST":
                raise BadRequestException(f"{scope['method']} is not supported on {scope['path']}; use POST.")
            chain, region = self._authenticate(scope)
            parameters = parameters_from_headers(scope["headers"])
            session = self.sessions.open(
                RequestContext(region, self.account_id), parameters, medical, transport="http2"
            )
        except AWSError as error:
            log.info("stream refused over http2 (%s): %s: %s", scope["path"], error.code, error.message)
            status, headers, body = render_error(error, request_id)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        try:
            headers = [(b"content-type", EVENT_STREAM_CONTENT_TYPE.encode())]
            headers += [(k.encode("latin-1"), v.encode("utf-8")) for k, v in session.response_headers()]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            await self._stream(session, chain, receive, send)
        finally:
            session.close()  # logs the session's end (emulator.service.streaming)

    def _authenticate(self, scope) -> tuple[ChunkSignatureChain | None, str]:
        headers = scope["headers"]
        if self.verifier is None:
            return None, _region_from_unverified(headers) or self.default_region
        raw_path = scope.get("raw_path") or scope["path"].encode()
        identity = self.verifier.verify_headers(
            scope["method"],
            raw_path.decode("latin-1").split("?", 1)[0] or "/",
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            b"",
        )
        secret = self.credentials[identity.access_key]
        return ChunkSignatureChain(identity.signature, secret, identity.region, identity.service), identity.region

    async def _stream(self, session, chain: ChunkSignatureChain | None, receive, send) -> None:
        """Reads the request body on a task of its own while results are written here, so audio
        that arrives during recognition is passed on together (a client faster than real time
        gets fewer, larger steps instead of a growing backlog)."""
        settings = session.settings
        if settings.media_encoding == "pcm":  # one second of audio at most
            inbox = AudioInbox(max(MAX_JOINED_AUDIO, settings.sample_rate * 2 * settings.channels))
        else:
            inbox = AudioInbox(MAX_JOINED_AUDIO)
        reader = asyncio.create_task(self._read(receive, chain, inbox))
        disconnected = False

        async def emit(messages: list[bytes]) -> None:
            for message in messages:
                await send({"type": "http.response.body", "body": message, "more_body": True})

        try:
            while True:
                kind, value = await inbox.get()
                if kind == "audio":
                    await emit(await session.audio(value))
                elif kind == "end":
                    await emit(await session.end())
                    return
                elif kind == "error":
                    raise value
                else:  # disconnect
                    disconnected = True
                    return
        except AWSError as error:
            await emit([session.error_event(error)])
        except Exception:  # noqa: BLE001 - one stream's failure must not take the server down
            log.exception("stream %s failed", session.session_id)
            await emit([session.error_event(InternalFailureException("An internal error occurred."))])
        finally:
            reader.cancel()
            if not disconnected:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _read(self, receive, chain: ChunkSignatureChain | None, inbox: "AudioInbox") -> None:
        """Request body -> inbox: ("audio", bytes), then ("end", None), ("error", AWSError) or
        ("disconnect", None)."""
        decoder = EventStreamDecoder()
        try:
            while True:
                try:
                    message = await asyncio.wait_for(receive(), IDLE_TIMEOUT_SECONDS)
                except asyncio.TimeoutError:
                    raise idle_timeout_error() from None
                if message["type"] == "http.disconnect":
                    inbox.put("disconnect", None)
                    return
                body = message.get("body", b"")
                try:
                    for payload in self._audio_payloads(decoder.feed(body) if body else [], chain):
                        inbox.put("audio", payload)
                except EventStreamError as error:
                    raise BadRequestException(MALFORMED_FRAME.format(detail=str(error).rstrip("."))) from None
                if not message.get("more_body", False):
                    if decoder.pending:
                        raise BadRequestException(MALFORMED_FRAME.format(detail="the stream ended inside a message"))
                    raise _StreamEnded
        except _StreamEnded:
            inbox.put("end", None)
        except AWSError as error:
            inbox.put("error", error)
        except Exception:  # noqa: BLE001
            log.exception("reading a stream failed")
            inbox.put("error", InternalFailureException("An internal error occurred."))

    @staticmethod
    def _audio_payloads(messages: list[Message], chain: ChunkSignatureChain | None):
        """AudioEvent payloads of decoded messages (envelopes verified and opened); raises
        _StreamEnded at an end-of-stream signal, BadRequestException / EventStreamError."""
        for message in messages:
            if is_signed_envelope(message):
                inner_bytes = (message.payload or None) if chain is None else chain.open(message)
                if inner_bytes is None:  # the empty envelope: end of stream
                    raise _StreamEnded
                inner_messages = EventStreamDecoder().feed(inner_bytes)
            else:
                inner_messages = [message]
            for inner in inner_messages:
                kind = (inner.message_type, inner.event_type)
                if kind == ("event", "AudioEvent"):
                    if not inner.payload:  # the empty AudioEvent: end of stream
                        raise _StreamEnded
                    yield inner.payload
                elif kind != ("event", "ConfigurationEvent"):  # call analytics only: ignored
                    raise BadRequestException(UNEXPECTED_EVENT.format(kind=f"{kind[0]}/{kind[1]}"))


# Audio handed to recognition at once when it queued up: about one second (PCM), or AWS's largest
# AudioEvent (32 KB) for compressed audio, so a client ahead of real time still sees partials.
MAX_JOINED_AUDIO = 32 * 1024


class AudioInbox:
    """What the reader found, in order; consecutive audio is handed out joined."""

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
