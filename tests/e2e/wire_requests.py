"""Requests for every operation of botocore's transcribe model, for the wire hardening tests
(tests/e2e/test_hardening_wire.py) and the bigger fuzz run by hand (tests/e2e/fuzz_wire.py).

* `minimal_request(operation)`: the operation's required members with valid values, derived
  from the model's shapes (required members, enums, min/max, patterns) and a few known
  formats (names, S3 URIs, ARNs). Media URIs name a bucket that does not exist, so a job
  started by a test or the fuzz fails at once instead of occupying a worker.
* `null_variants(operation)`: that request with `null` in place of each optional member,
  top level and nested (a structure member present with one of its own optional members
  null), and with every optional top-level member null at once.
* `requests()`: a hypothesis strategy of (operation, target, body bytes): hostile values
  for every member (wrong JSON types, nulls, out-of-range numbers, NaN and Infinity,
  lone surrogates, NUL, long strings), deep nesting and broken JSON.
* `signed_headers(...)`: the headers botocore's SigV4Auth puts on such a request.

Nothing is sent here; callers post with httpx against a running emulator.
"""

from __future__ import annotations

import functools
import json
import uuid

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import strategies as st

CONTENT_TYPE = "application/x-amz-json-1.1"
CREDENTIALS = Credentials("test", "test")
REGION = "us-east-1"
TARGET_PREFIXES = ("Transcribe.", "com.amazonaws.transcribe.Transcribe.")
MISSING_MEDIA = "s3://wire-fuzz-no-such-bucket/none.wav"

# Valid values of string shapes whose patterns a generic generator would not satisfy.
_KNOWN = {
    "Uri": MISSING_MEDIA,
    "OutputBucketName": "wire-fuzz-no-such-bucket",
    "OutputKey": "fuzz/",
    "DataAccessRoleArn": "arn:aws:iam::123456789012:role/fuzz",
    "TranscribeArn": "arn:aws:transcribe:us-east-1:123456789012:transcription-job/fuzz",
    "KMSKeyId": "fuzzkey",
    "NextToken": "fuzz",
    "NonEmptyString": "fuzz",
    "PrintableNonEmptyString": "fuzz",
}
# Optional members the service itself needs (a media URI, a language) to get past its checks.
_ALSO = {"Media": ("MediaFileUri",), "StartTranscriptionJobRequest": ("LanguageCode",)}
_NAME_PATTERN = "^[0-9a-zA-Z._-]+"
_LANGUAGE_DEFAULTS = ("en-US",)


@functools.cache
def model():
    return botocore.session.get_session().get_service_model("transcribe")


def operations() -> list[str]:
    return list(model().operation_names)


def input_shape(operation: str):
    return model().operation_model(operation).input_shape


# --- valid values ---------------------------------------------------------------------------


def valid_value(shape, unique: str = ""):
    """A value of `shape` that passes the model's constraints."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        if getattr(shape, "is_tagged_union", False):  # exactly one member
            names = [next(iter(shape.members))]
        else:
            names = [*shape.required_members, *_ALSO.get(shape.name, ())]
        return {name: valid_value(shape.members[name], unique) for name in names}
    if kind == "list":
        return [valid_value(shape.member, unique) for _ in range(max(1, meta.get("min", 1)))]
    if kind == "map":
        return {valid_value(shape.key, unique): valid_value(shape.value, unique)}
    if kind == "string":
        if "enum" in meta:
            return next((v for v in _LANGUAGE_DEFAULTS if v in meta["enum"]), meta["enum"][0])
        if shape.name in _KNOWN:
            return _KNOWN[shape.name]
        if meta.get("pattern") == _NAME_PATTERN:
            return f"wire-fuzz-{unique or uuid.uuid4().hex[:12]}"
        return "x" * max(1, meta.get("min", 1))
    if kind in ("integer", "long"):
        return int(meta.get("min", 1))
    if kind in ("float", "double"):
        return float(meta.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "blob":
        return "AAAA"
    if kind == "timestamp":
        return 0
    raise AssertionError(kind)


def minimal_request(operation: str) -> dict:
    shape = input_shape(operation)
    return {} if shape is None else valid_value(shape)


def null_variants(operation: str) -> list[tuple[str, dict]]:
    """(label, params): `null` for each optional member, top level and one level down."""
    shape = input_shape(operation)
    if shape is None:
        return [("no input", {})]
    variants = []
    optional = [n for n in shape.members if n not in shape.required_members]
    for name in optional:
        variants.append((name, {**minimal_request(operation), name: None}))
    for name, member in shape.members.items():
        if member.type_name != "structure":
            continue
        for inner in member.members:
            if inner in member.required_members:
                continue
            params = minimal_request(operation)
            params[name] = {**valid_value(member), inner: None}
            variants.append((f"{name}.{inner}", params))
    for name, member in shape.members.items():  # a list or map of structures with a null inside
        element = member.member if member.type_name == "list" else member.value if member.type_name == "map" else None
        if element is None or element.type_name != "structure":
            continue
        for inner in element.members:
            if inner in element.required_members:
                continue
            params = minimal_request(operation)
            entry = {**valid_value(element), inner: None}
            params[name] = [entry] if member.type_name == "list" else {valid_value(member.key): entry}
            variants.append((f"{name}[].{inner}", params))
    if optional:
        variants.append(("every optional member", {**minimal_request(operation), **dict.fromkeys(optional)}))
    return variants


# --- signing --------------------------------------------------------------------------------


def signed_headers(
    endpoint: str, target: str, body: bytes, path: str = "/", region: str = REGION, extra: dict | None = None
) -> dict:
    """The headers of `POST <endpoint><path>` signed by botocore's SigV4Auth (test/test)."""
    request = AWSRequest(
        method="POST",
        url=endpoint + path,
        data=body,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": target, **(extra or {})},
    )
    SigV4Auth(CREDENTIALS, "transcribe", region).add_auth(request)
    return dict(request.headers.items())


# --- hostile values (hypothesis) --------------------------------------------------------------

_HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\ud800",
        "a\udfffb",
        "\x00",
        "a\x00b",
        "\u202e",
        "é" * 300,
        "x" * 5000,
        "../..",
        "%00",
        "null",
        "s3://",
        "s3://bucket/../../etc/passwd",
        "arn:aws:transcribe:::",
        "\n",
        "😀",
    ]
)
_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, 1e300, -1e300, 0.5, 1.9, float("nan"), float("inf"), float("-inf")]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_ANY_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBERS | st.text(max_size=20) | _HOSTILE_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


_STRATEGIES: dict = {}


def _shape_values(shape, depth: int = 0):
    """Values aimed at `shape`: valid ones, boundary ones, wrong types, nulls, hostile text."""
    key = (shape.name, depth)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _build_shape_values(shape, depth)
    return _STRATEGIES[key]


def _build_shape_values(shape, depth: int):
    kind, meta = shape.type_name, shape.metadata
    options = [st.just(valid_value(shape)), st.none(), _ANY_JSON]
    if kind == "string":
        options += [_HOSTILE_TEXT, st.text(max_size=40)]
        if "enum" in meta:
            options.append(st.sampled_from(meta["enum"]))
        if "max" in meta:
            options.append(st.just("a" * (meta["max"] + 1)))
    elif kind in ("integer", "long", "float", "double"):
        options.append(_NUMBERS)
        for bound in ("min", "max"):
            if bound in meta:
                options.append(st.sampled_from([meta[bound] - 1, meta[bound], meta[bound] + 1, meta[bound] + 0.5]))
    elif kind == "boolean":
        options += [st.booleans(), st.sampled_from(["true", 1, 0])]
    elif kind == "structure" and depth < 4:
        options.append(_structure(shape, depth + 1))
    elif kind == "list" and depth < 4:
        options.append(st.lists(_shape_values(shape.member, depth + 1), max_size=4))
    elif kind == "map" and depth < 4:
        options.append(
            st.dictionaries(
                st.one_of(st.just(valid_value(shape.key)), _HOSTILE_TEXT),
                _shape_values(shape.value, depth + 1),
                max_size=3,
            )
        )
    return st.one_of(*options)


def _structure(shape, depth: int = 0):
    """A structure value starting from the valid minimum, each member maybe replaced or added."""
    members = list(shape.members.items())

    @st.composite
    def build(draw):
        value = valid_value(shape)
        chosen = (
            draw(st.lists(st.sampled_from(members), max_size=min(4, len(members)), unique_by=lambda m: m[0]))
            if members
            else []
        )
        for name, member in chosen:
            value[name] = draw(_shape_values(member, depth))
        if draw(st.integers(0, 9)) == 0:
            value[draw(st.text(max_size=10))] = draw(_ANY_JSON)  # an unknown member
        return value

    return build()


def _encode(params) -> bytes:
    # allow_nan: NaN / Infinity go out as the bare tokens a hostile client would send;
    # ensure_ascii: lone surrogates go out as \ud800 escapes (valid JSON text).
    return json.dumps(params, allow_nan=True).encode()


@st.composite
def _body(draw, operation: str) -> bytes:
    shape = input_shape(operation)
    mode = draw(st.integers(0, 19))
    if mode == 0:
        depth = draw(st.sampled_from([10, 999, 1000, 1001, 5000, 50000]))
        return ('{"x":' + "[" * depth + "]" * depth + "}").encode()
    if mode == 1:
        return draw(st.binary(max_size=64))
    if mode == 2:
        text = _encode(minimal_request(operation))
        return text[: draw(st.integers(0, len(text)))]
    if mode == 3:
        return _encode(draw(_ANY_JSON))
    params = (
        draw(_structure(shape))
        if shape is not None
        else draw(st.dictionaries(st.text(max_size=8), _ANY_JSON, max_size=2))
    )
    return _encode(params)


@st.composite
def requests(draw) -> tuple[str, str, bytes]:
    """(operation, X-Amz-Target, body) of one fuzzed request."""
    operation = draw(st.sampled_from(operations()))
    prefix = draw(st.sampled_from(TARGET_PREFIXES))
    return operation, prefix + operation, draw(_body(operation))
