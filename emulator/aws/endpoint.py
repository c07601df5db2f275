"""The request pipeline every wire protocol of the batch API shares; the protocols differ only
in how they name the operation and encode bodies.

Order of checks, as AWS's front end does them: body size, signature (over the body as
received: `SigV4Verifier.verify_headers` with no streaming payload hashes, so
`UNSIGNED-PAYLOAD` is refused), operation, body, input validation against the botocore
model (`emulator.aws.validation`), then the operation itself. The body is read
incrementally and refused as soon as it passes `max_body_bytes`; everything after reading
it (hashing, decoding, validation, the operation, encoding the answer) runs in a worker
thread, so a large body never stalls the event loop.

Every response carries `x-amzn-RequestId`; an `AWSError` raised anywhere becomes the
protocol's error response, any other exception an InternalFailureException (500), logged.
Every request handled logs one line on `emulator.access` (info): operation, HTTP status,
error type, milliseconds, request id (fields also name the protocol).

Protocols: `emulator.aws.json_protocol` (awsJson1.1, `POST /` with `X-Amz-Target`) and
`emulator.aws.cbor_protocol` (Smithy RPC v2 CBOR, `POST /service/Transcribe/operation/<Op>`).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Callable, Mapping

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

# The largest request body accepted, in bytes. AWS does not publish Transcribe's; its
# largest legal request (CreateVocabulary with 50 KB of phrases, JSON-escaped) is far
# below this, and nothing larger is ever buffered.
MAX_BODY_BYTES = 4 * 1024 * 1024

# (region, params) -> response members; blocking, runs in a thread.
Operation = Callable[[str, dict], dict]


class ProtocolEndpoint:
    """Starlette handler of one wire protocol: the shared pipeline, with the protocol's
    parts left to a subclass (`operation_name`, `decode_body`, `encode_result`,
    `render_error`, and optionally `operation_label`).

    operations: operation name -> Operation. verifier: None turns SigV4 checks off
    (requests then run in `default_region`, or the region of the credential scope if sent).
    max_body_bytes: the largest body accepted (413 RequestEntityTooLargeException beyond);
    body_limits: a larger one for the operations that carry media inline (TranscribeAudio),
    chosen by the operation the request names before its body is read.
    """

    protocol = ""  # the name the access log gives the protocol

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

    # --- the protocol's parts ------------------------------------------------------------

    def operation_name(self, request: Request) -> str | None:
        """The operation the request names; None when it names none the protocol can read."""
        raise NotImplementedError

    def decode_body(self, request: Request, operation_name: str, body: bytes) -> dict:
        """The request's parameters as awsJson would carry them (blobs base64 text, timestamps
        epoch seconds), so validation and operations see one form. Raises SerializationException."""
        raise NotImplementedError

    def encode_result(self, operation_name: str, result: dict) -> Response:
        """The success response for the operation's response members (without the request id)."""
        raise NotImplementedError

    def render_error(self, error: AWSError, request_id: str) -> Response:
        raise NotImplementedError

    def operation_label(self, request: Request) -> str:
        """The operation as the access log names it, also when unknown; "-" when none."""
        return (self.operation_name(request) or "-")[:100]

    # --- the shared pipeline -------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        error: AWSError | None = None
        response: Response | None = None
        try:
            limit = self.body_limits.get(self.operation_name(request), self.max_body_bytes)
            body = await read_body(request, limit)
            response = await run_in_threadpool(self._answer, request, body)
        except AWSError as e:
            error = e
        except ClientDisconnect:  # gone before its body arrived: nobody reads the answer
            error = SerializationException("")
        except Exception:
            log.exception("request %s failed", request_id)
            error = InternalFailureException("An internal error occurred.")
        if error is not None or response is None:
            response = self.render_error(error, request_id)
        else:
            response.headers["x-amzn-RequestId"] = request_id
        self._log_access(request, response.status_code, error, started, request_id)
        return response

    def _answer(self, request: Request, body: bytes) -> Response:
        """Signature, operation, body, validation, operation, answer: blocking, in a worker thread."""
        region = self._authenticate(request, body)
        name = self.operation_name(request)
        if name not in self.operations:
            raise UnknownOperationException("")
        params = self.decode_body(request, name, body)
        validate_input(name, params)
        return self.encode_result(name, self.operations[name](region, params))

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

    def _log_access(
        self, request: Request, status: int, error: AWSError | None, started: float, request_id: str
    ) -> None:
        """`Operation STATUS [ErrorType] MS ms request_id=ID`."""
        operation = self.operation_label(request)
        ms = round((time.perf_counter() - started) * 1000, 1)
        code = error.code if error is not None else None
        fields = {
            "operation": operation,
            "status": status,
            "ms": ms,
            "request_id": request_id,
            "error": code,
            "protocol": self.protocol,
        }
        access_log.info(
            "%s %d %s%.1f ms request_id=%s",
            operation,
            status,
            f"{code} " if code else "",
            ms,
            request_id,
            extra={"fields": fields},
        )


async def read_body(request: Request, limit: int) -> bytes:
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


def omit_none(value):
    """AWS omits absent members rather than sending null."""
    if isinstance(value, dict):
        return {k: omit_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [omit_none(v) for v in value]
    return value


def _region_from_unverified(authorization: str) -> str | None:
    """The region of a credential scope, read without checking the signature."""
    marker = "Credential="
    if marker not in authorization:
        return None
    scope = authorization.split(marker, 1)[1].split(",", 1)[0].split("/")
    return scope[2] if len(scope) >= 5 else None
