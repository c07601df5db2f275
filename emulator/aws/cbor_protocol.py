"""Smithy RPC v2 CBOR: `POST /service/Transcribe/operation/<Operation>` with
`smithy-protocol: rpc-v2-cbor` and CBOR bodies (RFC 8949, read and written with cbor2).

botocore's model lists this protocol first (`metadata.protocols` is
`["smithy-rpc-v2-cbor", "json"]`); botocore's `RpcV2CBORSerializer` / `RpcV2CBORParser` are
the client this module answers. The operations, the validation and the errors are the
awsJson ones: the shared pipeline is `emulator.aws.endpoint.ProtocolEndpoint` (body cap,
SigV4 over the CBOR body as received, operation lookup, validation, the worker thread);
this module gives it the path, the CBOR codec and the error body.

Requests: the path's service name is the model's `targetPrefix` (`Transcribe`); any other,
or an operation the emulator does not serve, is UnknownOperationException. The request
must say `smithy-protocol: rpc-v2-cbor`, and a body must come as `Content-Type:
application/cbor` (otherwise SerializationException, 400, naming the header). An empty
body is an empty input. The body is one CBOR data item, a map; definite and indefinite
lengths are both read. It is translated, walking the operation's input shape from
botocore's model, into the form awsJson carries, so that validation and the operations
see one form: a blob (byte string) becomes base64 text, a timestamp (tag 1, epoch
seconds) epoch seconds with millisecond precision; CBOR null and undefined are absent;
members the shape does not have are dropped. Malformed CBOR, trailing bytes, a top-level
item that is not a map, and values CBOR has but the member cannot hold (a byte string
outside a blob, a text string for a blob, a tag other than 1 on a timestamp, a
non-finite number outside a float member, a map key that is not text) are a
SerializationException; a text string where a number belongs and the like go on to
validation and get awsJson's message ("STRING_VALUE cannot be converted to Integer").

Responses: `smithy-protocol: rpc-v2-cbor`, `Content-Type: application/cbor`,
`x-amzn-RequestId`. The body is the operation's response members as a CBOR map, walking
the output shape: timestamps are tag 1 over epoch seconds (an integer when whole, else
a double), blobs byte strings, absent members omitted. An operation whose model has no
output shape (DeleteTranscriptionJob, ...) answers an empty body, as the Smithy spec asks.

Errors: the status the awsJson path uses, and a CBOR map `{"__type": shape id, "Message":
text}` (Message omitted when empty). The Smithy spec asks for the error's shape ID in
`__type`: Transcribe's modelled errors are `com.amazonaws.transcribe#<Code>`, the
generic AWS errors (UnknownOperationException, SerializationException, the SigV4 family)
`com.amazon.coral.service#<Code>`; botocore keeps what follows `#`. `x-amzn-query-error`
is never sent: the Smithy spec reserves it for services with the `awsQueryCompatible`
trait, which Transcribe's model does not have.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import math
from collections.abc import Mapping
from typing import Any

import cbor2
from starlette.requests import Request
from starlette.responses import Response

from emulator.aws.endpoint import ProtocolEndpoint
from emulator.aws.errors import AWSError, SerializationException
from emulator.aws.model import service_model

CONTENT_TYPE = "application/cbor"
PROTOCOL_HEADER = "smithy-protocol"
PROTOCOL = "rpc-v2-cbor"
SERVICE_NAME = "Transcribe"  # the model's targetPrefix, as botocore builds the path
PATH = "/service/{service}/operation/{operation}"
SERVICE_NAMESPACE = "com.amazonaws.transcribe"
GENERIC_NAMESPACE = "com.amazon.coral.service"
# A value the member's type cannot hold (awsJson's validator words the same for JSON).
_WRONG_TYPE = "Unexpected field type"


class CborProtocolEndpoint(ProtocolEndpoint):
    """Starlette handler for `POST /service/{service}/operation/{operation}` (route `PATH`);
    constructor as `ProtocolEndpoint`."""

    protocol = "rpcv2Cbor"

    def operation_name(self, request: Request) -> str | None:
        if request.path_params.get("service") != SERVICE_NAME:
            return None
        return request.path_params.get("operation")

    def operation_label(self, request: Request) -> str:
        return (request.path_params.get("operation") or "-")[:100]

    def decode_body(self, request: Request, operation_name: str, body: bytes) -> dict:
        if request.headers.get(PROTOCOL_HEADER, "").strip() != PROTOCOL:
            raise SerializationException(f"Expected the header {PROTOCOL_HEADER}: {PROTOCOL}")
        if body and _media_type(request.headers.get("content-type", "")) != CONTENT_TYPE:
            raise SerializationException(f"Expected the header Content-Type: {CONTENT_TYPE}")
        return decode_request(body, service_model().operation_model(operation_name).input_shape)

    def encode_result(self, operation_name: str, result: dict) -> Response:
        shape = service_model().operation_model(operation_name).output_shape
        if shape is None:
            return Response(b"", headers={PROTOCOL_HEADER: PROTOCOL})
        return _cbor_response(encode_response(result, shape), 200)

    def render_error(self, error: AWSError, request_id: str) -> Response:
        body: dict[str, Any] = {"__type": error_type(error.code)}
        if error.message:
            body["Message"] = error.message
        body.update(error.members())  # e.g. BadRequestException's Reason
        response = _cbor_response(cbor2.dumps(body), error.status)
        response.headers["x-amzn-RequestId"] = request_id
        return response


def _cbor_response(body: bytes, status: int) -> Response:
    return Response(body, status_code=status, media_type=CONTENT_TYPE, headers={PROTOCOL_HEADER: PROTOCOL})


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


@functools.cache
def _modelled_errors() -> frozenset[str]:
    return frozenset(shape.name for shape in service_model().error_shapes)


def error_type(code: str) -> str:
    """The `__type` of an error: its Smithy shape ID (`com.amazonaws.transcribe#NotFoundException`)."""
    namespace = SERVICE_NAMESPACE if code in _modelled_errors() else GENERIC_NAMESPACE
    return f"{namespace}#{code}"


# --- requests: CBOR -> the awsJson form ---------------------------------------------------


def decode_request(body: bytes, shape) -> dict:
    """The parameters of a CBOR request body, in the form awsJson carries them (see the module
    docstring). `shape`: the operation's botocore input shape (None: no input). Raises
    SerializationException."""
    if not body:
        return {}
    stream = io.BytesIO(body)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception:  # any malformed item: cbor2's errors, and what its tag decoders raise
        raise SerializationException("") from None
    if stream.tell() != len(body):
        raise SerializationException("")
    if not isinstance(item, Mapping):
        is_list = isinstance(item, (list, tuple))
        raise SerializationException("Start of list found where not expected" if is_list else "")
    if shape is None:
        return {}
    return _from_cbor(shape, item)


def _from_cbor(shape, value):
    """`value` (decoded CBOR, not None) as awsJson carries a value of `shape`."""
    kind = shape.type_name
    if isinstance(value, Mapping):
        if any(not isinstance(key, str) for key in value):
            raise SerializationException(_WRONG_TYPE)
        if kind == "structure":
            members = shape.members
            return {
                name: _from_cbor(members[name], item)
                for name, item in value.items()
                if name in members and not _absent(item)
            }
        if kind == "map":
            return {key: None if _absent(item) else _from_cbor(shape.value, item) for key, item in value.items()}
        raise SerializationException("Start of structure or map found where not expected")
    if isinstance(value, (list, tuple)):
        if kind != "list":
            return list(value)  # validation words the mistake as awsJson does
        return [None if _absent(item) else _from_cbor(shape.member, item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        if kind != "blob":
            raise SerializationException(_WRONG_TYPE)
        return base64.b64encode(value).decode("ascii")
    if kind == "blob":
        raise SerializationException(_WRONG_TYPE)
    if isinstance(value, dt.datetime):
        if kind != "timestamp":
            raise SerializationException(_WRONG_TYPE)
        return round(value.timestamp(), 3)
    if isinstance(value, float):
        if not math.isfinite(value) and kind not in ("float", "double"):
            raise SerializationException(_WRONG_TYPE)
        return value
    if isinstance(value, (bool, int, str)):
        return value
    raise SerializationException(_WRONG_TYPE)  # other tags and simple values


def _absent(value) -> bool:
    return value is None or value is cbor2.undefined


# --- responses: the awsJson form -> CBOR -----------------------------------------------------


def encode_response(result: dict, shape) -> bytes:
    """The CBOR body of an operation's response members `result` (as the awsJson path renders
    them: timestamps as epoch seconds, blobs as base64 text or bytes) for its output `shape`."""
    return cbor2.dumps(_to_cbor(shape, result))


def _to_cbor(shape, value):
    """`value` (not None) of `shape` (None: a member the model does not have) for cbor2."""
    kind = shape.type_name if shape is not None else None
    if isinstance(value, dict):
        if kind == "structure":
            members = shape.members
            return {k: _to_cbor(members.get(k), v) for k, v in value.items() if v is not None}
        inner = shape.value if kind == "map" else None
        return {k: _to_cbor(inner, v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        inner = shape.member if kind == "list" else None
        return [_to_cbor(inner, v) for v in value if v is not None]
    if kind == "timestamp":
        return cbor2.CBORTag(1, _epoch_seconds(value))
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if kind in ("integer", "long") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _epoch_seconds(value) -> int | float:
    """Epoch seconds of a timestamp member: an integer when whole, else a double."""
    if isinstance(value, dt.datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
