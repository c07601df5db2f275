"""The awsJson1.1 protocol: `POST /` with `X-Amz-Target: Transcribe.<Operation>`.

Any path is accepted (the app routes every POST that is not one of its own to this
endpoint): the developer guide's own example posts to `/transcribe`. The target may be
`Transcribe.<Operation>` or `com.amazonaws.transcribe.Transcribe.<Operation>` (the
developer guide's form, "Transcribing with HTTP or WebSockets").

Order of checks, as AWS's front end does them: body size, signature (over the body as
received: `SigV4Verifier.verify_headers` with no streaming payload hashes, so
`UNSIGNED-PAYLOAD` is refused), operation, JSON body, input validation against the
botocore model, then the operation itself. The body is read incrementally and refused
as soon as it passes MAX_BODY_BYTES; everything after reading it (hashing, parsing,
validation, the operation) runs in a worker thread, so a large body never stalls the
event loop.

JSON is read strictly: `NaN`, `Infinity`, `-Infinity`, numbers beyond a double's range
(`1e999`) and nesting the parser cannot follow (about 1,000 levels, as Jackson's default
limit on AWS) are a SerializationException without message, like any malformed JSON.
Every response carries `x-amzn-RequestId`; errors are rendered here and only here:
`{"__type": code, "Message": text}` with `x-amzn-ErrorType` (digest §1.2).
Every request handled logs one line on `emulator.access` (info): operation, HTTP status,
error type, milliseconds, request id.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from typing import Any, Callable, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from emulator.aws.errors import (
    AWSError,
    InternalFailureException,
    RequestEntityTooLargeException,
    SerializationException,
    UnknownOperationException,
)
from emulator.aws.sigv4 import SigV4Verifier
from emulator.aws.validation import validate_input

log = logging.getLogger(__name__)
access_log = logging.getLogger("emulator.access")

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Transcribe."
# The fully qualified form of the same target (Smithy shape id of the service).
QUALIFIED_TARGET_PREFIX = "com.amazonaws.transcribe.Transcribe."
# The largest request body accepted, in bytes. AWS does not publish Transcribe's; its
# largest legal request (CreateVocabulary with 50 KB of phrases, JSON-escaped) is far
# below this, and nothing larger is ever buffered.
MAX_BODY_BYTES = 4 * 1024 * 1024

# (region, params) -> response members; blocking, runs in a thread.
Operation = Callable[[str, dict], dict]


def render_error(error: AWSError, request_id: str) -> Response:
    body: dict[str, Any] = {"__type": error.code}
    if error.message:
        body["Message"] = error.message
    body.update(error.members())
    return Response(
        json.dumps(body),
        status_code=error.status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code},
    )


def _omit_none(value: Any) -> Any:
    """AWS omits absent members rather than sending null."""
    if isinstance(value, dict):
        return {k: _omit_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_omit_none(v) for v in value]
    return value


class _NotJson(ValueError):
    """A token standard JSON does not have (NaN, Infinity) or a number no double holds."""


def _refuse_constant(token: str):
    raise _NotJson(token)


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _NotJson(token)
    return value


def _parse_body(body: bytes) -> dict:
    """The JSON object of an awsJson request body (empty body: {}).

    Raises SerializationException (no message) for malformed or non-standard JSON,
    non-finite numbers and nesting too deep to parse; "Start of list found where not
    expected" for a top-level array.
    """
    if not body.strip():
        return {}
    try:
        params = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):  # UnicodeDecodeError and _NotJson are ValueErrors
        raise SerializationException("") from None
    if not isinstance(params, dict):
        raise SerializationException("Start of list found where not expected" if isinstance(params, list) else "")
    return params


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, read chunk by chunk; RequestEntityTooLargeException as soon as it
    (or its Content-Length) passes `limit` bytes, so an oversized body is never held whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestEntityTooLargeException(_too_large(limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLargeException(_too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"Request body must be at most {limit} bytes for this service."


class JsonProtocolEndpoint:
    """Starlette handler for awsJson POSTs (on `/` or any other path the app routes here).

    operations: operation name -> Operation. verifier: None turns SigV4 checks off
    (requests then run in `default_region`, or the region of the credential scope if sent).
    max_body_bytes: the largest body accepted (413 RequestEntityTooLargeException beyond);
    body_limits: a larger one for the operations that carry media inline (TranscribeAudio),
    chosen by the X-Amz-Target header before the body is read.
    """

    def __init__(
        self,
        operations: Mapping[str, Operation],
        verifier: SigV4Verifier | None,
        default_region: str,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_limits: Mapping[str, int] | None = None,
    ):
        self.operations = operations
        self.verifier = verifier
        self.default_region = default_region
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits or {})

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        error: AWSError | None = None
        try:
            target = _operation_name(request.headers.get("x-amz-target", ""))
            body = await _read_body(request, self.body_limits.get(target, self.max_body_bytes))
            result = await run_in_threadpool(self._answer, request, body)
        except AWSError as e:
            error = e
        except ClientDisconnect:  # gone before its body arrived: nobody reads the answer
            error = SerializationException("")
        except Exception:
            log.exception("request %s failed", request_id)
            error = InternalFailureException("An internal error occurred.")
        if error is not None:
            response = render_error(error, request_id)
        else:
            response = Response(
                json.dumps(_omit_none(result)),
                media_type=CONTENT_TYPE,
                headers={"x-amzn-RequestId": request_id},
            )
        _log_access(request, response.status_code, error, started, request_id)
        return response

    def _answer(self, request: Request, body: bytes) -> dict:
        """Signature, operation, JSON, validation, operation: blocking, in a worker thread."""
        region = self._authenticate(request, body)
        operation_name, operation = self._operation(request.headers.get("x-amz-target", ""))
        params = _parse_body(body)
        validate_input(operation_name, params)
        return operation(region, params)

    def _authenticate(self, request: Request, body: bytes) -> str:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
        if self.verifier is None:
            return _region_from_unverified(request.headers.get("authorization", "")) or self.default_region
        identity = self.verifier.verify_headers(
            request.method,
            request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0] or "/",
            request.scope.get("query_string", b"").decode("latin-1"),
            headers,
            body,
            streaming_payload_hashes=(),
        )
        return identity.region

    def _operation(self, target: str) -> tuple[str, Operation]:
        name = _operation_name(target)
        if name not in self.operations:
            raise UnknownOperationException("")
        return name, self.operations[name]


def _operation_name(target: str) -> str | None:
    """`Transcribe.<Op>` or `com.amazonaws.transcribe.Transcribe.<Op>` -> `<Op>`; else None."""
    for prefix in (TARGET_PREFIX, QUALIFIED_TARGET_PREFIX):
        if target.startswith(prefix) and "." not in target[len(prefix):]:
            return target[len(prefix):]
    return None


def _log_access(request: Request, status: int, error: AWSError | None, started: float, request_id: str) -> None:
    """`Operation STATUS [ErrorType] MS ms request_id=ID`; the operation as the target names it
    (also when unknown), "-" without a target."""
    target = request.headers.get("x-amz-target", "")
    operation = target.removeprefix(QUALIFIED_TARGET_PREFIX).removeprefix(TARGET_PREFIX)[:100] or "-"
    ms = round((time.perf_counter() - started) * 1000, 1)
    code = error.code if error is not None else None
    access_log.info(
        "%s %d %s%.1f ms request_id=%s",
        operation,
        status,
        f"{code} " if code else "",
        ms,
        request_id,
        extra={"fields": {"operation": operation, "status": status, "ms": ms, "request_id": request_id, "error": code}},
    )


def _region_from_unverified(authorization: str) -> str | None:
    """The region of a credential scope, read without checking the signature."""
    marker = "Credential="
    if marker not in authorization:
        return None
    scope = authorization.split(marker, 1)[1].split(",", 1)[0].split("/")
    return scope[2] if len(scope) >= 5 else None
