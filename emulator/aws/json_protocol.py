"""The awsJson1.1 protocol: `POST /` with `X-Amz-Target: Transcribe.<Operation>`.

Order of checks, as AWS's front end does them: signature, operation, JSON body, input
validation against the botocore model, then the operation itself (off the event loop).
Every response carries `x-amzn-RequestId`; errors are rendered here and only here:
`{"__type": code, "Message": text}` with `x-amzn-ErrorType` (digest §1.2).
Every request handled logs one line on `emulator.access` (info): operation, HTTP status,
error type, milliseconds, request id.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Callable, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from emulator.aws.errors import (
    AWSError,
    InternalFailureException,
    SerializationException,
    UnknownOperationException,
)
from emulator.aws.sigv4 import SigV4Verifier
from emulator.aws.validation import validate_input

log = logging.getLogger(__name__)
access_log = logging.getLogger("emulator.access")

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Transcribe."

# (region, params) -> response members; blocking, runs in a thread.
Operation = Callable[[str, dict], dict]


def render_error(error: AWSError, request_id: str) -> Response:
    body: dict[str, Any] = {"__type": error.code}
    if error.message:
        body["Message"] = error.message
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


def _parse_body(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SerializationException("") from None
    if not isinstance(params, dict):
        raise SerializationException("Start of list found where not expected" if isinstance(params, list) else "")
    return params


class JsonProtocolEndpoint:
    """ASGI-facing handler for `POST /`.

    operations: operation name -> Operation. verifier: None turns SigV4 checks off
    (requests then run in `default_region`, or the region of the credential scope if sent).
    """

    def __init__(
        self,
        operations: Mapping[str, Operation],
        verifier: SigV4Verifier | None,
        default_region: str,
    ):
        self.operations = operations
        self.verifier = verifier
        self.default_region = default_region

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        error: AWSError | None = None
        try:
            body = await request.body()
            region = self._authenticate(request, body)
            operation_name, operation = self._operation(request.headers.get("x-amz-target", ""))
            params = _parse_body(body)
            validate_input(operation_name, params)
            result = await run_in_threadpool(operation, region, params)
        except AWSError as e:
            error = e
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
        )
        return identity.region

    def _operation(self, target: str) -> tuple[str, Operation]:
        prefix, _, name = target.partition(".")
        if prefix + "." != TARGET_PREFIX or name not in self.operations:
            raise UnknownOperationException("")
        return name, self.operations[name]


def _log_access(request: Request, status: int, error: AWSError | None, started: float, request_id: str) -> None:
    """`Operation STATUS [ErrorType] MS ms request_id=ID`; the operation as the target names it
    (also when unknown), "-" without a target."""
    operation = request.headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX)[:100] or "-"
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
