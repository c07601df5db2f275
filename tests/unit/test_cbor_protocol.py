"""The RPC v2 CBOR codec (emulator/aws/cbor_protocol.py) against botocore's own serializer and
parser for the protocol: for every operation of the model, a request botocore serializes as CBOR
decodes to what botocore serializes as awsJson, and a response the emulator encodes as CBOR
parses to what the same members parse to as awsJson. No server here (tests/e2e/test_cbor.py
sends the same over HTTP)."""

from __future__ import annotations

import datetime as dt
import json
import struct

import cbor2
import pytest
from botocore import parsers, serialize

from emulator.aws import cbor_protocol
from emulator.aws.cbor_protocol import decode_request, encode_response, error_type
from emulator.aws.errors import AWSError, NotFoundException, SerializationException, UnknownOperationException
from emulator.aws.model import service_model

MODEL = service_model()
WHEN = dt.datetime(2026, 12, 6, 1, 2, 3, 456000, tzinfo=dt.timezone.utc)


def full_value(shape, client_side: bool, depth: int = 0):
    """A value of `shape` with every member set (one member of a union), for botocore's
    serializers (client_side: datetimes and bytes) or as the emulator's operations return
    members (epoch seconds and base64 text)."""
    kind = shape.type_name
    if kind == "structure":
        names = list(shape.members)
        if getattr(shape, "is_tagged_union", False):
            names = names[-1:]  # MediaBytes of SyncMedia: the blob
        if depth > 6:
            names = list(shape.required_members)
        return {n: full_value(shape.members[n], client_side, depth + 1) for n in names}
    if kind == "list":
        return [full_value(shape.member, client_side, depth + 1) for _ in range(2)]
    if kind == "map":
        return {"k1": full_value(shape.value, client_side, depth + 1)}
    if kind == "string":
        return shape.enum[-1] if shape.enum else "text é €"
    if kind in ("integer", "long"):
        return 300000
    if kind in ("float", "double"):
        return 0.875
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return WHEN if client_side else WHEN.timestamp()
    if kind == "blob":
        return b"\x00\xff RIFF" if client_side else "AP8gUklGRg=="
    raise AssertionError(kind)


def _http(body: bytes, status: int = 200) -> dict:
    return {"body": body, "headers": {}, "status_code": status}


def _parsed(protocol: str, body: bytes, shape) -> dict:
    parsed = parsers.create_parser(protocol).parse(_http(body), shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def _serializer(protocol: str):
    return serialize.create_serializer(protocol, include_validation=False)


@pytest.mark.parametrize("operation", MODEL.operation_names)
def test_botocores_cbor_request_decodes_to_its_json_request(operation):
    operation_model = MODEL.operation_model(operation)
    params = full_value(operation_model.input_shape, client_side=True)

    cbor_request = _serializer("smithy-rpc-v2-cbor").serialize_to_request(params, operation_model)
    json_request = _serializer("json").serialize_to_request(params, operation_model)

    assert cbor_request["url_path"] == f"/service/Transcribe/operation/{operation}"
    assert cbor_request["headers"]["smithy-protocol"] == cbor_protocol.PROTOCOL
    assert decode_request(cbor_request["body"], operation_model.input_shape) == json.loads(json_request["body"])


@pytest.mark.parametrize(
    "operation", [op for op in MODEL.operation_names if MODEL.operation_model(op).output_shape is not None]
)
def test_a_cbor_response_parses_in_botocore_as_its_json_response_does(operation):
    shape = MODEL.operation_model(operation).output_shape
    result = full_value(shape, client_side=False)

    body = encode_response(result, shape)

    assert _parsed("smithy-rpc-v2-cbor", body, shape) == _parsed("json", json.dumps(result).encode(), shape)


def test_timestamps_are_tag_1_epoch_seconds_and_blobs_byte_strings():
    shape = MODEL.operation_model("GetTranscriptionJob").output_shape
    body = encode_response(
        {"TranscriptionJob": {"TranscriptionJobName": "a", "CreationTime": 1765000000.25, "StartTime": 1765000001.0}},
        shape,
    )

    # tag 1 (0xc1) over a double (0xfb) and over a 32-bit unsigned integer (0x1a): whole seconds
    assert b"CreationTime\xc1\xfb" + struct.pack(">d", 1765000000.25) in body
    assert b"StartTime\xc1\x1a" + (1765000001).to_bytes(4, "big") in body
    media = MODEL.operation_model("TranscribeAudio").input_shape
    blob = cbor2.dumps({"Media": {"MediaBytes": b"\x00\x01"}})
    assert decode_request(blob, media) == {"Media": {"MediaBytes": "AAE="}}


def test_absent_members_are_omitted_and_an_operation_without_output_has_none():
    shape = MODEL.operation_model("GetVocabulary").output_shape

    body = encode_response({"VocabularyName": "v", "FailureReason": None}, shape)
    assert cbor2.loads(body) == {"VocabularyName": "v"}
    assert MODEL.operation_model("DeleteVocabulary").output_shape is None


@pytest.mark.parametrize(
    "error, expected",
    [
        (NotFoundException("gone"), ("com.amazonaws.transcribe#NotFoundException", "NotFoundException")),
        (
            UnknownOperationException(""),
            ("com.amazon.coral.service#UnknownOperationException", "UnknownOperationException"),
        ),
    ],
)
def test_errors_carry_the_shape_id_and_botocore_reads_the_code(error: AWSError, expected):
    response = cbor_protocol.CborProtocolEndpoint({}, None, "us-east-1").render_error(error, "rid")

    assert response.status_code == 400
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response.headers["content-type"] == "application/cbor"
    assert "x-amzn-query-error" not in response.headers
    body = cbor2.loads(response.body)
    assert body["__type"] == error_type(error.code) == expected[0]
    headers = {"x-amzn-requestid": "rid"}
    parsed = parsers.create_parser("smithy-rpc-v2-cbor").parse(
        {"body": response.body, "headers": headers, "status_code": 400}, None
    )
    assert parsed["Error"] == {"Code": expected[1], "Message": error.message}


LIST_JOBS = MODEL.operation_model("ListTranscriptionJobs").input_shape
START_JOB = MODEL.operation_model("StartTranscriptionJob").input_shape


@pytest.mark.parametrize(
    "body, message",
    [
        (b"\xa1\x6aMaxResults", ""),  # cut short
        (b"\xa0\x01", ""),  # trailing bytes
        (b"\x62\xff\xfe", ""),  # invalid UTF-8
        (b"\x80", "Start of list found where not expected"),
        (b"\x05", ""),
        (cbor2.dumps({"JobNameContains": b"abc"}), "Unexpected field type"),  # bytes for a string
        (cbor2.dumps({"MaxResults": float("nan")}), "Unexpected field type"),
        (cbor2.dumps({"MaxResults": WHEN}), "Unexpected field type"),  # tag 1 outside a timestamp
        (cbor2.dumps({"MaxResults": cbor2.CBORTag(4, [-1, 5])}), "Unexpected field type"),  # a decimal fraction
        (cbor2.dumps({"Status": {1: 2}}), "Unexpected field type"),
    ],
)
def test_malformed_or_mistyped_cbor_is_a_serialization_error(body, message):
    with pytest.raises(SerializationException) as info:
        decode_request(body, LIST_JOBS)
    assert info.value.message == message


def test_a_text_string_for_a_blob_is_refused():
    media = MODEL.operation_model("TranscribeAudio").input_shape
    with pytest.raises(SerializationException):
        decode_request(cbor2.dumps({"Media": {"MediaBytes": "AAE="}}), media)


def test_decoding_keeps_what_validation_words_and_drops_what_is_absent():
    # a text MaxResults goes on to validation (awsJson's message); null and undefined are absent;
    # unknown members are dropped; indefinite lengths and the self-describe tag are read.
    indefinite = b"\xbf\x6aMaxResults\x61\x35\x66Status\xf7\x67Unknown\x5f\x41\x01\xff\xff"
    assert decode_request(indefinite, LIST_JOBS) == {"MaxResults": "5"}
    assert decode_request(b"\xd9\xd9\xf7" + cbor2.dumps({"Status": "COMPLETED", "NextToken": None}), LIST_JOBS) == {
        "Status": "COMPLETED"
    }
    assert decode_request(b"", LIST_JOBS) == {}
    nested = cbor2.dumps({"Settings": {"MaxSpeakerLabels": 2.0, "ShowSpeakerLabels": True}, "Tags": [None]})
    assert decode_request(nested, START_JOB) == {
        "Settings": {"MaxSpeakerLabels": 2.0, "ShowSpeakerLabels": True},
        "Tags": [None],  # validation reports the null element
    }
