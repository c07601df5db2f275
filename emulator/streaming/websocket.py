"""Streaming transcription over WebSocket: `GET /stream-transcription-websocket` (and medical).

A raw ASGI app, like the HTTP/2 endpoints (`emulator.streaming.http2`) and over the same core:
`emulator.streaming.session_io` (inbox, envelopes, errors), `emulator.service.streaming`.
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
   `x-amzn-RequestId` and the restJson1 body `{"__type", "Message"}` (`session_io.render_error`).
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
   queued up meanwhile is recognised together (`session_io.AudioInbox`).
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

from starlette.responses import Response
from starlette.websockets import WebSocket

from emulator.aws.errors import AWSError, BadRequestException
from emulator.aws.event_signing import ChunkSignatureChain, is_signed_envelope
from emulator.aws.eventstream import EventStreamError, Message, decode_message
from emulator.aws.sigv4 import SignedIdentity, SigV4Verifier, region_from_unverified
from emulator.service.context import RequestContext
from emulator.service.streaming import StreamingSessions, StreamSession
from emulator.streaming.session_io import (
    IDLE_TIMEOUT_SECONDS,
    AudioInbox,
    InputHook,
    OperationHooks,
    StreamEnded,
    audio_of,
    exception_frame,
    open_envelope,
    pump,
    read_audio,
    receive_within,
    render_error,
    response_headers,
)

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


def audio_payload(
    frame: bytes, chain: ChunkSignatureChain | None = None, on_event: InputHook | None = None
) -> bytes | None:
    """Audio bytes of one binary frame; `END_OF_STREAM` (None) for an end-of-stream frame.

    frame: the WebSocket message's bytes (one event-stream message). chain: verifies signed
    envelopes (None: envelopes are unwrapped unchecked, as with signature checks off).
    End of stream: a zero-length frame, an AudioEvent with an empty payload, an empty signed
    envelope. A ConfigurationEvent (call analytics) yields b"" (no audio).
    Raises BadRequestException: malformed message or CRC, wrong chunk signature, any other
    message. on_event: session_io.audio_of's. Source: digest §5.5, §5.8, §6.3.
    """
    if not frame:
        return END_OF_STREAM
    message = _decode(frame)
    if is_signed_envelope(message):
        inner = open_envelope(message, chain)
        if inner is None:
            return END_OF_STREAM
        message = _decode(inner)
    return audio_of(message, MSG_UNEXPECTED_EVENT, implied_type="event", on_event=on_event)


class WebSocketStreamingEndpoint(OperationHooks):
    """ASGI app for one WebSocket streaming path (mount one per path).

    sessions: the process's StreamingSessions. verifier: None turns SigV4 (and chunk
    signature) checks off; the region then comes from X-Amz-Credential if present, else
    `default_region`. credentials: access key -> secret (chunk signatures). account_id: the
    emulator's account. medical: StartMedicalStreamTranscription semantics.
    idle_timeout_seconds: no frame for this long ends the stream with AWS's message.
    close_grace_seconds: after the last results, how long the client may take to close first.
    A subclass serves another operation by changing its `OperationHooks`
    (emulator.streaming.call_analytics_events).
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
            await self._refuse(scope, receive, send, error)
            return
        chain = None
        if identity is not None:
            secret = self.credentials[identity.access_key]
            chain = ChunkSignatureChain(identity.signature, secret, identity.region, identity.service)
            region = identity.region
        else:
            region = region_from_unverified(query_string=query_string) or self.default_region

        try:
            session = self.sessions.open(
                RequestContext(region, self.account_id), stream_parameters(query_string), self.medical,
                transport="websocket",
            )
        except AWSError as error:
            await send({"type": "websocket.accept", "headers": [(b"x-amzn-request-id", str(uuid.uuid4()).encode())]})
            log.info("stream refused over websocket: %s: %s", error.code, error.message)
            await send({"type": "websocket.send", "bytes": exception_frame(error)})
            await send({"type": "websocket.close", "code": CLOSE_NORMAL})
            await _drain(receive)
            return
        try:
            await send({"type": "websocket.accept", "headers": response_headers(session)})
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

    async def _refuse(self, scope, receive, send, error: AWSError) -> None:
        """The restJson1 error as the handshake's HTTP response (ASGI's WebSocket Denial
        Response extension, which hypercorn offers), else a close with 1008."""
        log.info("stream refused over websocket: %s: %s", error.code, error.message)
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": CLOSE_POLICY})
            return
        status, headers, body = render_error(error, str(uuid.uuid4()))
        denial = Response(body, status, {name.decode(): value.decode() for name, value in headers})
        await WebSocket(scope, receive, send).send_denial_response(denial)

    # --- the stream -------------------------------------------------------------------

    async def _stream(self, session: StreamSession, chain: ChunkSignatureChain | None, receive, send) -> None:
        """Audio in, results out until the end of the audio; then the client closes first. After
        an error: the exception frame and close 1000. The client's close drops queued audio (its
        results could not reach the client)."""
        inbox = AudioInbox()
        gone = asyncio.Event()  # set by the reader when the client has closed
        reader = asyncio.create_task(self._read(receive, chain, inbox, gone, self.input_hook(session)))

        async def emit(messages: list[bytes]) -> None:
            for message in messages:
                await send({"type": "websocket.send", "bytes": message})

        try:
            outcome = await pump(session, inbox, emit, gone, render=self.render_events)
            if outcome == "error":
                await send({"type": "websocket.close", "code": CLOSE_NORMAL})
            elif outcome == "end":
                await self._let_client_close(gone, send)
            await _wait(gone, CLOSING_HANDSHAKE_SECONDS)
        finally:
            reader.cancel()

    async def _read(
        self, receive, chain, inbox: AudioInbox, gone: asyncio.Event, on_event: InputHook | None = None
    ) -> None:
        """Frames -> inbox: ("audio", bytes)..., then ("end", None) or ("error", AWSError);
        ("disconnect", None) and `gone` when the client has closed. Frames after the end or an
        error are read and ignored, until the client's close."""
        if await read_audio(inbox, self._frames(receive, chain, inbox, on_event), "WebSocket stream") != "disconnect":
            await _drain(receive, timeout=None)
            inbox.put("disconnect", None)
        gone.set()  # hypercorn has answered the client's close: what we send now is dropped

    async def _frames(self, receive, chain, inbox: AudioInbox, on_event: InputHook | None = None) -> None:
        while True:
            message = await receive_within(receive, self.idle_timeout_seconds)
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is None:
                raise BadRequestException(MSG_TEXT_FRAME)
            payload = audio_payload(message["bytes"], chain, on_event)
            if payload is END_OF_STREAM:
                raise StreamEnded
            if payload:
                inbox.put("audio", payload)

    async def _let_client_close(self, gone: asyncio.Event, send) -> None:
        """After the last results: wait for the client's close; close after the grace time."""
        if not await _wait(gone, self.close_grace_seconds):
            await send({"type": "websocket.close", "code": CLOSE_NORMAL})


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
