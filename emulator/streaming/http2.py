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
import logging
import uuid
from collections.abc import Mapping

from emulator.aws.errors import AWSError, BadRequestException
from emulator.aws.event_signing import ChunkSignatureChain, is_signed_envelope
from emulator.aws.eventstream import EventStreamDecoder, EventStreamError, Message
from emulator.aws.sigv4 import SigV4Verifier, region_from_unverified
from emulator.service.context import RequestContext
from emulator.service.streaming import StreamingSessions, StreamSession
from emulator.streaming.session_io import (
    HEADER_PREFIX,
    IDLE_TIMEOUT_SECONDS,
    MAX_JOINED_AUDIO,
    AudioInbox,
    InputHook,
    OperationHooks,
    StreamEnded,
    audio_of,
    open_envelope,
    pump,
    read_audio,
    receive_within,
    render_error,
    response_headers,
)

log = logging.getLogger(__name__)

STANDARD_PATH = "/stream-transcription"
MEDICAL_PATH = "/medical-stream-transcription"
EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
# Emulator wording (AWS does not publish these).
MALFORMED_FRAME = "The event stream message couldn't be read: {detail}. Send well-formed event stream messages."
UNEXPECTED_EVENT = (
    "The input stream carried an unexpected message ({}). "
    "Send AudioEvent messages (and ConfigurationEvent where the operation accepts it)."
)


def parameters_from_headers(headers) -> dict[str, str]:
    """`x-amzn-transcribe-*` request headers (name, value pairs, any case, str or bytes) ->
    parameters keyed by short name (digest §5.2). Repeated headers: the first wins."""
    out: dict[str, str] = {}
    for name, value in headers:
        name = name.decode("latin-1") if isinstance(name, bytes) else name
        value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        lowered = name.lower()
        if lowered.startswith(HEADER_PREFIX):
            out.setdefault(lowered[len(HEADER_PREFIX):], value)
    return out


class Http2StreamingEndpoint(OperationHooks):
    """ASGI app for both paths (mount it at each).

    sessions: the process's StreamingSessions. verifier: None turns SigV4 (and chunk
    signature) checks off. credentials: access key -> secret (to verify chunk signatures).
    account_id: the emulator's account; default_region: when nothing says otherwise.
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
            headers = [(b"content-type", EVENT_STREAM_CONTENT_TYPE.encode()), *response_headers(session)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            await self._stream(session, chain, receive, send)
        finally:
            session.close()  # logs the session's end (emulator.service.streaming)

    def _authenticate(self, scope) -> tuple[ChunkSignatureChain | None, str]:
        headers = scope["headers"]
        if self.verifier is None:
            return None, region_from_unverified(headers) or self.default_region
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

    async def _stream(self, session: StreamSession, chain: ChunkSignatureChain | None, receive, send) -> None:
        """Reads the request body on a task of its own while results are written here, so audio
        that arrives during recognition is passed on together (a client faster than real time
        gets fewer, larger steps instead of a growing backlog)."""
        settings = session.settings
        if settings.media_encoding == "pcm":  # one second of audio at most
            inbox = AudioInbox(max(MAX_JOINED_AUDIO, settings.sample_rate * 2 * settings.channels))
        else:
            inbox = AudioInbox(MAX_JOINED_AUDIO)
        frames = self._read(receive, chain, inbox, self.input_hook(session))
        reader = asyncio.create_task(read_audio(inbox, frames, "stream"))
        disconnected = False

        async def emit(messages: list[bytes]) -> None:
            for message in messages:
                await send({"type": "http.response.body", "body": message, "more_body": True})

        try:
            disconnected = await pump(session, inbox, emit, render=self.render_events) == "disconnect"
        finally:
            reader.cancel()
            if not disconnected:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _read(
        self, receive, chain: ChunkSignatureChain | None, inbox: AudioInbox, on_event: InputHook | None = None
    ) -> None:
        """Request body -> ("audio", bytes) in the inbox; returns at a disconnect, raises
        StreamEnded at the end of the audio, BadRequestException for a malformed stream."""
        decoder = EventStreamDecoder()
        while True:
            message = await receive_within(receive, IDLE_TIMEOUT_SECONDS)
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            try:
                for payload in self._audio_payloads(decoder.feed(body) if body else [], chain, on_event):
                    inbox.put("audio", payload)
            except EventStreamError as error:
                raise BadRequestException(MALFORMED_FRAME.format(detail=str(error).rstrip("."))) from None
            if not message.get("more_body", False):
                if decoder.pending:
                    raise BadRequestException(MALFORMED_FRAME.format(detail="the stream ended inside a message"))
                raise StreamEnded

    @staticmethod
    def _audio_payloads(messages: list[Message], chain: ChunkSignatureChain | None, on_event: InputHook | None = None):
        """AudioEvent payloads of decoded messages (envelopes verified and opened); raises
        StreamEnded at an end-of-stream signal, BadRequestException / EventStreamError."""
        for message in messages:
            if is_signed_envelope(message):
                inner_bytes = open_envelope(message, chain)
                if inner_bytes is None:  # the empty envelope: end of stream
                    raise StreamEnded
                inner_messages = EventStreamDecoder().feed(inner_bytes)
            else:
                inner_messages = [message]
            for inner in inner_messages:
                audio = audio_of(inner, UNEXPECTED_EVENT, on_event=on_event)
                if audio is None:  # the empty AudioEvent: end of stream
                    raise StreamEnded
                if audio:
                    yield audio
