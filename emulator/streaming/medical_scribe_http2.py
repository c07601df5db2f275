"""AWS HealthScribe streaming over HTTP/2: `POST /medical-scribe-stream` (StartMedicalScribeStream,
a duplex event stream) and `GET /medical-scribe-stream/{SessionId}` (GetMedicalScribeStream, JSON).

The REST binding of the transcribe-streaming Smithy model (JS SDK v3 schema): the start request's
headers `x-amzn-transcribe-language-code`, `-sample-rate`, `-media-encoding`, `-session-id`; the
200 response echoes them with `x-amzn-request-id`, then streams `TranscriptEvent`s
(emulator.streaming.medical_scribe_events). AWS serves HealthScribe streaming over HTTP/2 only
(no WebSocket endpoint: AWS developer guide, "AWS HealthScribe streaming").

Per start request, as `streaming/http2.py` does for StartStreamTranscription (SigV4 of the
headers, chunk-signature chain of the envelopes, restJson errors before the stream, one
exception frame during it):
1. the headers are validated and a session-id of a known session is checked for resuming
   (`MedicalScribeStreams.prepare`); a refusal is a restJson error;
2. the 200 headers go out; the first input event must be the ConfigurationEvent (else a
   BadRequestException frame); the session opens (`MedicalScribeStreams.open`);
3. audio runs through the shared pump (`session_io.pump`) with this operation's renderer;
4. a SessionControlEvent END_OF_SESSION ends the session (final results, then the end of the
   response; the post-stream analytics start); the end of the input stream or a disconnect
   without it pauses the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from urllib.parse import unquote

from emulator.aws.errors import AWSError, BadRequestException
from emulator.aws.event_signing import ChunkSignatureChain, is_signed_envelope
from emulator.aws.eventstream import EventStreamDecoder, EventStreamError
from emulator.service.context import RequestContext
from emulator.service.medical_scribe_stream import (
    MISSING_CONFIGURATION,
    SECOND_CONFIGURATION,
    MedicalScribeStreams,
    ScribeSession,
    ScribeStart,
)
from emulator.streaming.http2 import (
    EVENT_STREAM_CONTENT_TYPE,
    MALFORMED_FRAME,
    Http2StreamingEndpoint,
    parameters_from_headers,
)
from emulator.streaming.medical_scribe_events import input_event, segment_events
from emulator.streaming.session_io import (
    HEADER_PREFIX,
    IDLE_TIMEOUT_SECONDS,
    MAX_JOINED_AUDIO,
    AudioInbox,
    StreamEnded,
    exception_frame,
    open_envelope,
    pump,
    read_audio,
    receive_within,
    render_error,
)

log = logging.getLogger(__name__)

SCRIBE_PATH = "/medical-scribe-stream"


class MedicalScribeStreamEndpoint(Http2StreamingEndpoint):
    """ASGI app for `POST /medical-scribe-stream` and `GET /medical-scribe-stream/{SessionId}`.

    streams: the process's MedicalScribeStreams; the other arguments as Http2StreamingEndpoint's.
    """

    def __init__(self, streams: MedicalScribeStreams, verifier, credentials, account_id: str, default_region: str):
        super().__init__(streams.sessions, verifier, credentials, account_id, default_region)
        self.streams = streams

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request_id = str(uuid.uuid4())
        path = scope["path"].rstrip("/")
        try:
            chain, region = self._authenticate(scope)
            ctx = RequestContext(region, self.account_id)
            if scope["method"] == "GET" and path.startswith(SCRIBE_PATH + "/"):
                session_id = unquote(path[len(SCRIBE_PATH) + 1:])
                body = await asyncio.to_thread(self.streams.get_stream, ctx, session_id)
                await self._json(send, request_id, body)
                return
            if scope["method"] != "POST" or path != SCRIBE_PATH:
                raise BadRequestException(f"{scope['method']} is not supported on {scope['path']}.")
            start = await asyncio.to_thread(self.streams.prepare, ctx, parameters_from_headers(scope["headers"]))
        except AWSError as error:
            log.info("%s %s refused: %s: %s", scope["method"], scope["path"], error.code, error.message)
            status, headers, body = render_error(error, request_id)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        headers = [
            ("content-type", EVENT_STREAM_CONTENT_TYPE),
            ("x-amzn-request-id", request_id),
            (HEADER_PREFIX + "session-id", start.session_id),
            *((HEADER_PREFIX + short, value) for short, value in start.echoed),
        ]
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(name.encode("latin-1"), value.encode("utf-8")) for name, value in headers],
        })
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await self._session(start, chain, receive, send)

    @staticmethod
    async def _json(send, request_id: str, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"x-amzn-requestid", request_id.encode()),
            (b"content-length", str(len(data)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})

    async def _session(self, start: ScribeStart, chain: ChunkSignatureChain | None, receive, send) -> None:
        """The event stream: configuration first, then audio through the shared pump."""
        inbox = AudioInbox(MAX_JOINED_AUDIO)
        ended = {"end_of_session": False}
        reader = asyncio.create_task(
            read_audio(inbox, self._read_events(receive, chain, inbox, ended), "HealthScribe stream")
        )
        scribe: ScribeSession | None = None
        outcome = "error"

        async def emit(messages: list[bytes]) -> None:
            for message in messages:
                await send({"type": "http.response.body", "body": message, "more_body": True})

        try:
            kind, value = await inbox.get()
            if kind == "disconnect":
                outcome = "disconnect"
                return
            if kind == "error":
                raise value
            if kind != "config":
                received = "AudioEvent" if kind == "audio" else "the end of the stream"
                raise BadRequestException(MISSING_CONFIGURATION.format(received=received))
            scribe = await asyncio.to_thread(self.streams.open, start, value)
            if scribe.settings.media_encoding == "pcm":  # about one second of audio at once
                inbox.max_joined = max(MAX_JOINED_AUDIO, scribe.settings.sample_rate * 2 * scribe.settings.channels)
            outcome = await pump(scribe, inbox, emit, render=segment_events)
            if outcome == "disconnect":
                await self._flush(scribe)
        except AWSError as error:  # before the session opened (configuration, vocabulary, ...)
            log.info("HealthScribe stream %s refused: %s: %s", start.session_id, error.code, error.message)
            await emit([exception_frame(error)])
        finally:
            reader.cancel()
            if scribe is not None:
                await self._finish(scribe, ended["end_of_session"] and outcome == "end")
            if outcome != "disconnect":
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _flush(scribe: ScribeSession) -> None:
        """The final results of what was heard before the client left (kept for the session)."""
        try:
            await scribe.end()
        except AWSError as error:
            scribe.fail(error)

    @staticmethod
    async def _finish(scribe: ScribeSession, end_of_session: bool) -> None:
        try:
            await asyncio.to_thread(scribe.finish, end_of_session)
        except AWSError:  # the store failed: the session stays as last recorded
            log.exception("recording the end of HealthScribe stream %s failed", scribe.session_id)

    async def _read_events(self, receive, chain: ChunkSignatureChain | None, inbox: AudioInbox, ended: dict) -> None:
        """Request body -> ("config", dict) then ("audio", bytes) in the inbox; returns at a
        disconnect; raises StreamEnded at END_OF_SESSION (ended["end_of_session"] set) or the end
        of the input; BadRequestException for a malformed stream or a second configuration."""
        decoder = EventStreamDecoder()
        configured = False
        while True:
            message = await receive_within(receive, IDLE_TIMEOUT_SECONDS)
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            try:
                messages = decoder.feed(body) if body else []
                for outer in messages:
                    if is_signed_envelope(outer):
                        inner_bytes = open_envelope(outer, chain)
                        if inner_bytes is None:  # the empty envelope: end of the input
                            raise StreamEnded
                        inner_messages = EventStreamDecoder().feed(inner_bytes)
                    else:
                        inner_messages = [outer]
                    for inner in inner_messages:
                        kind, value = input_event(inner)
                        if kind == "control":
                            ended["end_of_session"] = True
                            raise StreamEnded
                        if kind == "config":
                            if configured:
                                raise BadRequestException(SECOND_CONFIGURATION)
                            configured = True
                        if value or kind == "config":
                            inbox.put(kind, value)
            except EventStreamError as error:
                raise BadRequestException(MALFORMED_FRAME.format(detail=str(error).rstrip("."))) from None
            if not message.get("more_body", False):
                if decoder.pending:
                    raise BadRequestException(MALFORMED_FRAME.format(detail="the stream ended inside a message"))
                raise StreamEnded
