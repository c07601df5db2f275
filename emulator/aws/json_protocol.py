"""The awsJson1.1 protocol: `POST /` with `X-Amz-Target: Transcribe.<Operation>`.

Any path is accepted (the app routes every POST that is not one of its own to this
endpoint): the developer guide's own example posts to `/transcribe`. The target may be
`Transcribe.<Operation>` or `com.amazonaws.transcribe.Transcribe.<Operation>` (the
developer guide's form, "Transcribing with HTTP or WebSockets").

The shared pipeline (body cap, SigV4, operation lookup, validation, error mapping, the
access log, the worker thread) is `emulator.aws.endpoint.ProtocolEndpoint`; this module
gives it awsJson's parts.

JSON is read strictly: `NaN`, `Infinity`, `-Infinity`, numbers beyond a double's range
(`1e999`) and nesting the parser cannot follow (about 1,000 levels, as Jackson's default
limit on AWS) are a SerializationException without message, like any malformed JSON.
awsJson errors are rendered here and only here: `{"__type": code, "Message": text}` with
`x-amzn-ErrorType` (digest §1.2).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.aws.endpoint import MAX_BODY_BYTES, Operation, ProtocolEndpoint, omit_none
from emulator.aws.errors import AWSError, SerializationException

__all__ = ["CONTENT_TYPE", "JsonProtocolEndpoint", "MAX_BODY_BYTES", "Operation", "render_error"]

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "Transcribe."
# The fully qualified form of the same target (Smithy shape id of the service).
QUALIFIED_TARGET_PREFIX = "com.amazonaws.transcribe.Transcribe."


def render_error(error: AWSError, request_id: str) -> Response:
    body: dict[str, Any] = {"__type": error.code}
    if error.message:
        body["Message"] = error.message
    body.update(error.members())  # e.g. BadRequestException's Reason
    return Response(
        json.dumps(body),
        status_code=error.status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code},
    )


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


class JsonProtocolEndpoint(ProtocolEndpoint):
    """Starlette handler for awsJson POSTs (on `/` or any other path the app routes here);
    constructor as `ProtocolEndpoint`."""

    protocol = "awsJson1_1"

    def operation_name(self, request: Request) -> str | None:
        return _operation_name(request.headers.get("x-amz-target", ""))

    def operation_label(self, request: Request) -> str:
        """The operation as the target names it (also when unknown), "-" without a target."""
        target = request.headers.get("x-amz-target", "")
        return target.removeprefix(QUALIFIED_TARGET_PREFIX).removeprefix(TARGET_PREFIX)[:100] or "-"

    def decode_body(self, request: Request, operation_name: str, body: bytes) -> dict:
        return _parse_body(body)

    def encode_result(self, operation_name: str, result: dict) -> Response:
        return Response(json.dumps(omit_none(result)), media_type=CONTENT_TYPE)

    def render_error(self, error: AWSError, request_id: str) -> Response:
        return render_error(error, request_id)


def _operation_name(target: str) -> str | None:
    """`Transcribe.<Op>` or `com.amazonaws.transcribe.Transcribe.<Op>` -> `<Op>`; else None."""
    for prefix in (TARGET_PREFIX, QUALIFIED_TARGET_PREFIX):
        if target.startswith(prefix) and "." not in target[len(prefix):]:
            return target[len(prefix):]
    return None
