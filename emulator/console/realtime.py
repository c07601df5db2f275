"""Real-time transcription in the console (`/console/realtime`), as AWS's console has it.

The page (templates/realtime.html, static/realtime.js + static/eventstream.js) captures the
browser's microphone, downsamples it to 16 kHz s16le PCM, wraps each chunk in an
event-stream AudioEvent and sends it over the emulator's own WebSocket endpoint
(`emulator.streaming.websocket`): the same presigned-URL protocol AWS documents
("Setting up a WebSocket stream", docs.aws.amazon.com/transcribe/latest/dg/streaming-websocket.html),
so nothing here is a console-only path into the service.

The page never holds the secret key: it asks `POST /console/realtime/presign` for a URL,
which this module signs with the emulator's configured credentials (botocore's
`SigV4QueryAuth`, the signer the AWS SDKs and the project's tests use) for the Host the page
was served from, so the socket opens on the same origin: plain `ws://` on the API port over
loopback, `wss://` when the page came over a TLS port. The URL lives `URL_EXPIRES_SECONDS`
(AWS allows up to 300 s; it is only needed for the handshake).

The page's Content-Security-Policy needs nothing new: `connect-src 'self'` matches `ws:`/`wss:`
to the page's own host and port (CSP Level 3, as Chromium, Firefox and Safari apply it).

The presign endpoint is a console POST: `ConsoleSecurity` asks for the CSRF header (a page on
another origin cannot produce it) and, off loopback, basic auth; it also refuses a request
whose `Origin` is not the console's own, and every method but POST (405).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator.aws.errors import AWSError
from emulator.console.client import model_enum
from emulator.service.streaming_settings import STREAMING_PII_TYPES

SERVICE = "transcribe"
URL_EXPIRES_SECONDS = 60
SAMPLE_RATE = 16000  # what the page downsamples the microphone to
MAX_BODY_BYTES = 16 * 1024
# WebSocket paths (AWS's): digest §5.8 and the Call Analytics API reference.
STANDARD_PATH = "/stream-transcription-websocket"
MEDICAL_PATH = "/medical-stream-transcription-websocket"
CALL_ANALYTICS_PATH = "/call-analytics-stream-transcription-websocket"


@dataclass(frozen=True)
class StreamMode:
    """One of the page's modes: its WebSocket path and the query parameters (AWS short
    names) the page may set; `media-encoding` and `sample-rate` are always the page's."""

    name: str
    path: str
    parameters: frozenset[str]


_COMMON = {"language-code", "vocabulary-name", "show-speaker-label", "content-identification-type", "session-id"}
MODES = {
    mode.name: mode
    for mode in (
        StreamMode("standard", STANDARD_PATH, frozenset(_COMMON | {
            "identify-language", "language-options", "preferred-language", "vocabulary-filter-name",
            "vocabulary-filter-method", "content-redaction-type", "pii-entity-types",
            "enable-partial-results-stabilization", "partial-results-stability", "language-model-name",
        })),
        StreamMode("medical", MEDICAL_PATH, frozenset(_COMMON | {"specialty", "type"})),
        StreamMode("call-analytics", CALL_ANALYTICS_PATH, frozenset(_COMMON - {"show-speaker-label"} | {
            "identify-language", "language-options", "preferred-language", "vocabulary-filter-name",
            "vocabulary-filter-method", "content-redaction-type", "pii-entity-types",
            "enable-partial-results-stabilization", "partial-results-stability", "language-model-name",
        })),
    )
}
MAX_VALUE_CHARS = 3000  # AWS's longest query value (vocabulary-names)


class PresignRequestError(ValueError):
    """The page asked for something this endpoint does not sign (mode, parameter, value)."""


def stream_query(mode: str, settings: dict) -> tuple[StreamMode, dict[str, str]]:
    """(the mode, the URL's stream parameters) from the page's JSON: `mode` one of MODES,
    `settings` short name -> string (empty values dropped). Only the mode's parameters are
    signed; what they mean is checked by the stream itself (`service/streaming_settings.py`),
    which answers with AWS's exception frame.
    Raises PresignRequestError for an unknown mode, parameter or a non-string value."""
    if mode not in MODES:
        raise PresignRequestError(f"Unknown mode {mode!r}: choose one of {', '.join(MODES)}.")
    chosen = MODES[mode]
    if not isinstance(settings, dict):
        raise PresignRequestError("settings must be an object of query parameters.")
    query = {"media-encoding": "pcm", "sample-rate": str(SAMPLE_RATE)}
    for name, value in settings.items():
        if name not in chosen.parameters:
            raise PresignRequestError(f"The {mode} mode has no parameter {name!r}.")
        if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
            raise PresignRequestError(f"{name} must be a string of at most {MAX_VALUE_CHARS} characters.")
        if value:
            query[name] = value
    return chosen, query


def presign_stream_url(
    scheme: str, host: str, path: str, query: dict[str, str], access_key: str, secret_key: str, region: str,
    expires: int = URL_EXPIRES_SECONDS,
) -> str:
    """A presigned WebSocket URL (`ws://` or `wss://` + host[:port] + path + query with the
    `X-Amz-*` parameters), as AWS's WebSocket streaming guide builds it (SigV4 query auth,
    service `transcribe`, signed header `host`, empty payload). scheme: "ws" or "wss";
    host: the Host the browser will send (port included); expires: seconds (AWS: at most 300).
    Verifies with `emulator.aws.sigv4.SigV4Verifier.verify_presigned`."""
    http_scheme = {"ws": "http", "wss": "https"}[scheme]
    request = AWSRequest(method="GET", url=f"{http_scheme}://{host}{path}", params=query)
    SigV4QueryAuth(Credentials(access_key, secret_key), SERVICE, region, expires=expires).add_auth(request)
    parts = urlsplit(request.url)
    return urlunsplit((scheme, *parts[1:]))


def _same_origin(request: Request) -> bool:
    """True without an Origin header (not a browser's cross-site request) or when it names the
    scheme, host and port the page was served from."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


class RealtimePages:
    """The page and its presign endpoint. console: the `routes.Console` (templates, client,
    runtime settings)."""

    def __init__(self, console):
        self.console = console
        self.settings = console.runtime.settings

    async def page(self, request: Request) -> Response:
        streaming = getattr(self.console.runtime, "streaming", None)
        supported = getattr(streaming, "supported_language", None)
        languages = [code for code in model_enum("LanguageCode") if supported is None or supported(code)]
        context = {
            "languages": languages,
            "pii_types": [t for t in STREAMING_PII_TYPES if t != "ALL"],  # none checked: ALL
            "filter_methods": model_enum("VocabularyFilterMethod"),
            "specialties": ("PRIMARYCARE",),  # AWS's real-time medical specialties: PRIMARYCARE only
            "medical_types": model_enum("Type"),
            "sample_rate": SAMPLE_RATE,
        }
        context.update(await self._resources())
        return self.console.page(request, "realtime.html", section="realtime", **context)

    async def _resources(self) -> dict:
        async def names(op: str, member: str, key: str) -> list[str]:
            try:
                return [item[key] for item in await self.console.client.list_all(op, member)]
            except AWSError:
                return []

        return {
            "vocabularies": await names("ListVocabularies", "Vocabularies", "VocabularyName"),
            "medical_vocabularies": await names("ListMedicalVocabularies", "Vocabularies", "VocabularyName"),
            "vocabulary_filters": await names("ListVocabularyFilters", "VocabularyFilters", "VocabularyFilterName"),
            "language_models": await names("ListLanguageModels", "Models", "ModelName"),
        }

    async def presign(self, request: Request) -> Response:
        """JSON `{"mode": "standard"|"medical"|"call-analytics", "settings": {short name: value}}`
        -> 200 `{"url", "expires_in", "mode"}`; 400 `{"error"}` for a body it does not sign;
        403 for another Origin; 413 for a body over MAX_BODY_BYTES."""
        if not _same_origin(request):
            return JSONResponse({"error": "The presign endpoint answers the console's own pages only."}, status_code=403)
        chunks, size = [], 0
        async for chunk in request.stream():  # capped as it arrives, never buffered whole
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return JSONResponse({"error": f"The body is larger than {MAX_BODY_BYTES} bytes."}, status_code=413)
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            document = json.loads(body or b"{}")
            if not isinstance(document, dict):
                raise PresignRequestError("The body must be a JSON object.")
            mode, query = stream_query(document.get("mode", "standard"), document.get("settings", {}))
        except (ValueError, RecursionError) as error:  # JSONDecodeError, PresignRequestError
            return JSONResponse({"error": str(error)}, status_code=400)
        scheme = "wss" if request.url.scheme == "https" else "ws"
        url = presign_stream_url(
            scheme, request.headers.get("host") or f"{request.url.hostname}:{request.url.port}", mode.path, query, self.settings.access_key, self.settings.secret_key,
            self.settings.region,
        )
        return JSONResponse({"url": url, "expires_in": URL_EXPIRES_SECONDS, "mode": mode.name},
                            headers={"Cache-Control": "no-store"})


def realtime_routes(console) -> list:
    """The routes, relative to the console's mount point."""
    pages = RealtimePages(console)
    return [
        Route("/realtime", pages.page, methods=["GET"]),
        Route("/realtime/presign", pages.presign, methods=["POST"]),
    ]
