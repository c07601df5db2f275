"""Streaming transcription over WebSocket: `GET /stream-transcription-websocket` (and medical).

A raw ASGI app, like the HTTP/2 endpoints (`emulator.streaming.http2`) and over the same core:
`emulator.aws.eventstream`, `emulator.aws.event_signing`, `emulator.service.streaming`.
Sources: TRANSCRIBE_API_DIGEST.md §5.8 (URL, frames) and §6.2 (presigned SigV4); AWS docs
"Setting up a WebSocket stream" (docs.aws.amazon.com/transcribe/latest/dg/streaming-websocket.html);
the AWS SDK for JavaScript v3 browser transport (`@aws-sdk/middleware-websocket`
`WebSocketFetchHandler`, `@aws-sdk/middleware-sdk-transcribe-streaming`).

The conversation:

1. Upgrade request `GET <path>?X-Amz-Algorithm=...&X-Amz-Signature=...&language-code=...`.
   The presigned URL is checked with `SigV4Verifier.verify_presigned` (X-Amz-Expires at most
   300 s; the signed `host` is the Host header as received, port included). A failure
   (missing, malformed, expired or wrong signature, unknown access key) is refused BEFORE the
   upgrade, as AWS refuses an unauthenticated handshake: an HTTP response with the error's
   status (403 InvalidSignatureException / MissingAuthenticationTokenException, 400
   IncompleteSignatureException / UnrecognizedClientException), `x-amzn-ErrorType`,
   `x-amzn-RequestId` and the restJson1 body `{"__type", "Message"}` (`http2.render_error`).
   ASGI servers without the `websocket.http.response` extension answer a bare 403 instead.
2. The other query parameters (short names, digest §5.8; `X-Amz-*` and the JS SDK's
   `user-agent` left out) open a `StreamSession`. A settings error (BadRequestException with
   AWS wording, ConflictException for a session id in use) comes AFTER the upgrade as one
   exception frame and a close frame: AWS documents WebSocket errors that way (a terminal
   frame with `:message-type` exception and `:exception-type` BadRequestException,
   InternalFailureException, LimitExceededException or UnrecognizedClientException, then a
   close), and it is what the JS SDK can report (a refused handshake only gives it a timeout).
   The 101 response carries the session's headers (`x-amzn-request-id`,
   `x-amzn-transcribe-session-id`, the settings echoed).
3. Each binary frame holds one event-stream message: an AudioEvent (`:event-type`
   AudioEvent; `:message-type` and `:content-type` may be missing), unsigned as browsers and
   the JS SDK send it, or inside a `:date`/`:chunk-signature` envelope verified as a chain
   seeded by the URL's X-Amz-Signature (digest §6.3). TranscriptEvent messages go back one a
   binary frame. Frames are read on a task of their own while recognition runs; audio that
   queued up meanwhile is recognised together (`http2.AudioInbox`).
4. End of audio: an empty AudioEvent, an empty signed envelope, a zero-length binary frame or
   the client's close. Then the final results, then the handler lets the CLIENT close first
   (FIELD_NOTES: the JS SDK closes right after its last frame; hypercorn answers a client's
   close at once and drops whatever the app sends later) and after `close_grace_seconds`
   closes itself with 1000, as AWS does ("Transcribe initiates a closure of the WebSocket
   after submitting all transcripts", AWS's browser sample).
5. Errors mid-stream (malformed message or CRC, text frame, wrong chunk signature, unexpected
   event, IDLE_TIMEOUT_SECONDS without a frame, recognition failure): one exception frame,
   then close 1000. Other streams are not affected.
6. After its own close frame the handler keeps reading (and dropping) frames until the
   client's close arrives, for at most CLOSING_HANDSHAKE_SECONDS: a socket closed with
   unread client data is reset, and the reset can destroy the last frames in flight.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qsl

from emulator.aws.errors import AWSError, BadRequestException, InternalFailureException
from emulator.aws.event_signing import ChunkSignatureChain, is_signed_envelope
from emulator.aws.eventstream import EventStreamError, Message, decode_message, exception_event
from emulator.aws.sigv4 import SignedIdentity, SigV4Verifier
from emulator.service.context import RequestContext
from emulator.service.streaming import IDLE_TIMEOUT_SECONDS, StreamingSessions, idle_timeout_error
from emulator.streaming.http2 import AudioInbox, render_error

log = logging.getLogger(__name__)

__all__ = [
    "WebSocketStreamingEndpoint",
    "STANDARD_PATH",
    "MEDICAL_PATH",
    "stream_parameters",
    "audio_payload",
    "END_OF_STREAM",
]

STANDARD_PATH = "/stream-transcription-websocket"
MEDICAL_PATH = "/medical-stream-transcription-websocket"
MAX_EXPIRES_SECONDS = 300  # AWS docs: "The maximum value for X-Amz-Expires is 300 (5 minutes)."
CLOSE_GRACE_SECONDS = 1.0
# After our close frame: how long the client may take to answer it. The handler keeps reading
# meanwhile; returning earlier makes the server close a socket with unread client frames, and
# the resulting TCP reset can destroy our last frames (the exception) before the client reads them.
CLOSING_HANDSHAKE_SECONDS = 5.0
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # refusal without the websocket.http.response extension
# Emulator wording (AWS does not publish its own for these).
MSG_TEXT_FRAME = "The audio stream couldn't be read: WebSocket frames must be binary event stream messages."
MSG_BAD_FRAME = "The audio stream couldn't be read: {}. Send well-formed event stream messages."
MSG_UNEXPECTED_EVENT = "The audio stream carried an unexpected message ({}). Send AudioEvent messages."
MSG_INTERNAL = "An internal error occurred."

END_OF_STREAM = None  # what `audio_payload` returns for an end-of-stream frame


def stream_parameters(query_string: str) -> dict[str, str]:
    """The stream's settings from the URL query: short name -> value (digest §5.8).

    Leaves out the SigV4 parameters (`X-Amz-*`) and the JS SDK's `user-agent`; the first of
    repeated names wins; values are percent-decoded.
    """
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name.lower().startswith("x-amz-") or name == "user-agent":
            continue
        parameters.setdefault(name, value)
    return parameters


def _decode(frame: bytes) -> Message:
    try:
        return decode_message(frame)
    except EventStreamError as error:
        raise BadRequestException(MSG_BAD_FRAME.format(str(error).rstrip("."))) from None


def audio_payload(frame: bytes, chain: ChunkSignatureChain | None = None) -> bytes | None:
    """Audio bytes of one binary frame; `END_OF_STREAM` (None) for an end-of-stream frame.

    frame: the WebSocket message's bytes (one event-stream message). chain: verifies signed
    envelopes (None: envelopes are unwrapped unchecked, as with signature checks off).
    End of stream: a zero-length frame, an AudioEvent with an empty payload, an empty signed
    envelope. A ConfigurationEvent (call analytics) yields b"" (no audio).
    Raises BadRequestException: malformed message or CRC, wrong chunk signature, any other
    message. Source: digest §5.5, §5.8, §6.3.
    """
    if not frame:
        return END_OF_STREAM
    message = _decode(frame)
    if is_signed_envelope(message):
        inner = (message.payload or None) if chain is None else chain.open(message)
        if inner is None:
            return END_OF_STREAM
        message = _decode(inner)
    message_type = message.headers.get(":message-type", "event")
    event_type = message.headers.get(":event-type")
    if message_type == "event" and event_type == "AudioEvent":
        return message.payload or END_OF_STREAM
    if message_type == "event" and event_type == "ConfigurationEvent":
        return b""
    raise BadRequestException(MSG_UNEXPECTED_EVENT.format(f"{message_type}/{event_type}"))


def _region_from_unverified(query_string: str) -> str | None:
    for name, value in parse_qsl(query_string):
        if name == "X-Amz-Credential":
            parts = value.split("/")
            if len(parts) >= 5 and parts[2]:
                return parts[2]
    return None


class WebSocketStreamingEndpoint:
    """ASGI app for one WebSocket streaming path (mount one per path).

    sessions: the process's StreamingSessions. verifier: None turns SigV4 (and chunk
    signature) checks off; the region then comes from X-Amz-Credential if present, else
    `default_region`. credentials: access key -> secret (chunk signatures). account_id: the
    emulator's account. medical: StartMedicalStreamTranscription semantics.
    idle_timeout_seconds: no frame for this long ends the stream with AWS's message.
    close_grace_seconds: after the last results, how long the client may take to close first.
    """

    def __init__(
        self,
        sessions: StreamingSessions,
        verifier: SigV4Verifier | None,
        credentials: Mapping[str, str],
        account_id: str,
        default_region: str,
        medical: bool = False,
        idle_timeout_seconds: float = IDLE_TIMEOUT_SECONDS,
        close_grace_seconds: float = CLOSE_GRACE_SECONDS,
    ):
        self.sessions = sessions
        self.verifier = verifier
        self.credentials = credentials
        self.account_id = account_id
        self.default_region = default_region
        self.medical = medical
        self.idle_timeout_seconds = idle_timeout_seconds
        self.close_grace_seconds = close_grace_seconds

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "websocket" or (await receive())["type"] != "websocket.connect":
            return
        query_string = scope.get("query_string", b"").decode("latin-1")
        try:
            identity = self._authenticate(scope, query_string)
        except AWSError as error:
            await self._refuse(scope, send, error)
            return
        chain = None
        if identity is not None:
            secret = self.credentials[identity.access_key]
            chain = ChunkSignatureChain(identity.signature, secret, identity.region, identity.service)
            region = identity.region
        else:
            region = _region_from_unverified(query_string) or self.default_region

        try:
            session = self.sessions.open(
                RequestContext(region, self.account_id), stream_parameters(query_string), self.medical,
                transport="websocket",
            )
        except AWSError as error:
            await send({"type": "websocket.accept", "headers": [(b"x-amzn-request-id", str(uuid.uuid4()).encode())]})
            await self._fail(send, error)
            await _drain(receive)
            return
        try:
            headers = [(k.lower().encode("latin-1"), v.encode("utf-8")) for k, v in session.response_headers()]
            await send({"type": "websocket.accept", "headers": headers})
            await self._stream(session, chain, receive, send)
        finally:
            session.close()  # logs the session's end (emulator.service.streaming)

    # --- handshake --------------------------------------------------------------------

    def _authenticate(self, scope, query_string: str) -> SignedIdentity | None:
        if self.verifier is None:
            return None
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        return self.verifier.verify_presigned(
            "GET",
            raw_path.decode("latin-1").split("?", 1)[0] or "/",
            query_string,
            scope.get("headers", []),
            max_expires=MAX_EXPIRES_SECONDS,
        )

    async def _refuse(self, scope, send, error: AWSError) -> None:
        log.info("stream refused over websocket: %s: %s", error.code, error.message)
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": CLOSE_POLICY})
            return
        status, headers, body = render_error(error, str(uuid.uuid4()))
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})

    # --- the stream -------------------------------------------------------------------

    async def _stream(self, session, chain: ChunkSignatureChain | None, receive, send) -> None:
        inbox = AudioInbox()
        gone = asyncio.Event()  # set by the reader when the client has closed
        reader = asyncio.create_task(self._read(receive, chain, inbox, gone))
        try:
            if await self._recognise(session, inbox, gone, send):
                await self._let_client_close(gone, send)
            await _wait(gone, CLOSING_HANDSHAKE_SECONDS)
        finally:
            reader.cancel()

    async def _recognise(self, session, inbox: AudioInbox, gone: asyncio.Event, send) -> bool:
        """Audio in, results out until the end of the audio. True when the final results went
        out; False after an error (exception frame and close sent) or the client's close (audio
        still queued then is dropped: its results could not reach the client)."""
        try:
            while not gone.is_set():
                kind, value = await inbox.get()
                if kind == "audio" and not gone.is_set():
                    await _send_all(send, await session.audio(value))
                elif kind == "end":
                    await _send_all(send, await session.end())
                    return True
                elif kind == "error":
                    raise value
                elif kind == "disconnect":
                    return False
        except AWSError as error:
            await self._fail(send, error, session)
        except Exception:  # noqa: BLE001 - one stream's failure must not take the server down
            log.exception("stream %s failed", session.session_id)
            await self._fail(send, InternalFailureException(MSG_INTERNAL), session)
        return False

    async def _read(self, receive, chain: ChunkSignatureChain | None, inbox: AudioInbox, gone: asyncio.Event) -> None:
        """Frames -> inbox: ("audio", bytes)..., then ("end", None) or ("error", AWSError);
        ("disconnect", None) and `gone` when the client has closed. Frames after the end or an
        error are read and ignored, until the client's close."""
        try:
            while True:
                try:
                    message = await asyncio.wait_for(receive(), self.idle_timeout_seconds)
                except asyncio.TimeoutError:
                    raise idle_timeout_error() from None
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is None:
                    raise BadRequestException(MSG_TEXT_FRAME)
                payload = audio_payload(message["bytes"], chain)
                if payload is END_OF_STREAM:
                    inbox.put("end", None)
                    await _drain(receive, timeout=None)
                    break
                if payload:
                    inbox.put("audio", payload)
        except AWSError as error:
            inbox.put("error", error)
            await _drain(receive, timeout=None)
        except Exception:  # noqa: BLE001
            log.exception("reading a WebSocket stream failed")
            inbox.put("error", InternalFailureException(MSG_INTERNAL))
            await _drain(receive, timeout=None)
        gone.set()  # hypercorn has answered the client's close: what we send now is dropped
        inbox.put("disconnect", None)

    async def _let_client_close(self, gone: asyncio.Event, send) -> None:
        """After the last results: wait for the client's close; close after the grace time."""
        if not await _wait(gone, self.close_grace_seconds):
            await send({"type": "websocket.close", "code": CLOSE_NORMAL})

    async def _fail(self, send, error: AWSError, session=None) -> None:
        """One exception frame, then close (AWS docs: a terminal frame, then a close frame).
        With a session, its close line names the error; without one the stream was refused."""
        if session is not None:
            frame = session.error_event(error)
        else:
            log.info("stream refused over websocket: %s: %s", error.code, error.message)
            frame = exception_event(error.code, error.message)
        await send({"type": "websocket.send", "bytes": frame})
        await send({"type": "websocket.close", "code": CLOSE_NORMAL})


async def _send_all(send, messages: list[bytes]) -> None:
    for message in messages:
        await send({"type": "websocket.send", "bytes": message})


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    """True when `event` was set within `timeout` seconds."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        return False
    return True


async def _drain(receive, timeout: float | None = CLOSING_HANDSHAKE_SECONDS) -> None:
    """Read and drop frames until the client's close (websocket.disconnect) or the timeout."""
    try:
        async with asyncio.timeout(timeout):
            while (await receive())["type"] != "websocket.disconnect":
                pass
    except TimeoutError:
        pass
