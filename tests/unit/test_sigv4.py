"""Tests for emulator.aws.sigv4: requests signed by real boto3/botocore verify.

Batch requests are produced by a real `boto3` Transcribe client whose `before-send`
handler captures the prepared request and answers with a canned response, so the
signature is boto3's own. Streaming start requests and presigned WebSocket URLs are
signed with botocore's `SigV4Auth` / `SigV4QueryAuth`. Time is injected: signing time
by patching `botocore.auth.get_current_datetime`, verification time by the verifier's
clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

from emulator.aws.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from emulator.aws.sigv4 import SignedIdentity, SigV4Verifier

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SIGNED_AT = dt.datetime(2023, 10, 6, 17, 0, 0, tzinfo=dt.timezone.utc)
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@pytest.fixture(autouse=True)
def fixed_signing_time(monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda **_: SIGNED_AT.replace(tzinfo=None))
    # With awscrt installed (the streaming clients bring it) botocore would sign with the CRT
    # signer, which reads the clock elsewhere; these tests pin botocore's Python signer (the
    # end-to-end tests exercise whichever signer boto3 picks against the running emulator).
    monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "v4", botocore.auth.SigV4Auth)


def verifier(at: dt.datetime = SIGNED_AT, creds: dict[str, str] | None = None, **kw) -> SigV4Verifier:
    return SigV4Verifier({AKID: SECRET} if creds is None else creds, clock=lambda: at, **kw)


# --- capturing boto3 requests ----------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body


def boto3_request(operation: str, token: str | None = None, region: str = "us-west-2", **params):
    """Call `operation` on a real boto3 client; return (method, path, query, headers, body).

    Headers are what goes on the wire, lower-cased ASGI style, with `host` as urllib3
    would add it.
    """
    captured = {}

    def before_send(request, **_):
        captured["request"] = request
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.1"}, _Raw(b"{}"))

    session = boto3.session.Session(
        aws_access_key_id=AKID, aws_secret_access_key=SECRET, aws_session_token=token, region_name=region
    )
    client = session.client("transcribe", endpoint_url="http://127.0.0.1:9")
    client.meta.events.register("before-send", before_send)
    getattr(client, operation)(**params)
    req = captured["request"]
    url = urlsplit(req.url)
    headers = [(k.lower(), v.decode() if isinstance(v, bytes) else v) for k, v in req.headers.items()]
    headers.append(("host", url.netloc))
    body = req.body if isinstance(req.body, bytes) else (req.body or "").encode()
    return req.method, url.path, url.query, headers, body


def replace_header(headers, name, value):
    return [(k, value if k == name else v) for k, v in headers]


def drop_header(headers, name):
    return [(k, v) for k, v in headers if k != name]


def header(headers, name):
    return next(v for k, v in headers if k == name)


# --- signing with botocore directly ----------------------------------------------------


class SignAllHeaders(SigV4Auth):
    """A non-botocore-like client: signs every header it sends, user-agent included."""

    def headers_to_sign(self, request):
        from botocore.compat import HTTPHeaders

        result = HTTPHeaders()
        for name, value in request.headers.items():
            result[name.lower()] = value
        if "host" not in result:
            result["host"] = urlsplit(request.url).netloc
        return result


def sign_headers(method, url, headers, body=b"", signer_cls=SigV4Auth, service="transcribe",
                 region="us-east-1", creds=None):
    """Sign with SigV4Auth; return (method, raw path, raw query, ASGI header list, body)."""
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value
    signer_cls(creds or Credentials(AKID, SECRET), service, region).add_auth(request)
    parts = urlsplit(url)
    wire = [(k.lower(), v) for k, v in request.headers.items()]
    if "host" not in {k for k, _ in wire}:
        wire.append(("host", parts.netloc))
    return method, parts.path, parts.query, wire, body


def presign(url="https://127.0.0.1:8443/stream-transcription-websocket", params=None, expires=300,
            creds=None, service="transcribe", region="us-east-1"):
    params = params if params is not None else {
        "language-code": "en-US",
        "media-encoding": "pcm",
        "sample-rate": "16000",
    }
    request = AWSRequest(method="GET", url=url, params=params)
    SigV4QueryAuth(creds or Credentials(AKID, SECRET), service, region, expires=expires).add_auth(request)
    parts = urlsplit(request.url)
    headers = [
        ("host", parts.netloc),
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]
    return "GET", parts.path, parts.query, headers


# --- header-signed: boto3 batch requests -----------------------------------------------


def test_boto3_request_verifies():
    method, path, query, headers, body = boto3_request("list_transcription_jobs", MaxResults=5)
    assert header(headers, "x-amz-target") == "Transcribe.ListTranscriptionJobs"
    identity = verifier().verify_headers(method, path, query, headers, body)
    assert isinstance(identity, SignedIdentity)
    assert identity.access_key == AKID
    assert identity.region == "us-west-2"
    assert identity.service == "transcribe"
    assert identity.signing_date == "20231006T170000Z"
    assert identity.signature in header(headers, "authorization")
    assert len(identity.signature) == 64


def test_accepts_mapping_and_bytes_headers():
    method, path, query, headers, body = boto3_request("list_vocabularies")
    as_bytes = [(k.encode(), v.encode()) for k, v in headers]
    assert verifier().verify_headers(method, path, query, as_bytes, body).access_key == AKID
    as_dict = {k.title(): v for k, v in headers}
    assert verifier().verify_headers(method, path, query, as_dict, body).access_key == AKID


def test_tampered_body_fails():
    method, path, query, headers, body = boto3_request(
        "get_transcription_job", TranscriptionJobName="job-1"
    )
    tampered = body.replace(b"job-1", b"job-2")
    assert tampered != body
    with pytest.raises(InvalidSignatureException) as err:
        verifier().verify_headers(method, path, query, headers, tampered)
    assert err.value.message == MISMATCH
    assert err.value.status == 403


def test_tampered_target_fails():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    headers = replace_header(headers, "x-amz-target", "Transcribe.DeleteTranscriptionJob")
    with pytest.raises(InvalidSignatureException, match="does not match"):
        verifier().verify_headers(method, path, query, headers, body)


def test_wrong_secret_fails():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    with pytest.raises(InvalidSignatureException) as err:
        verifier(creds={AKID: "not-the-secret"}).verify_headers(method, path, query, headers, body)
    assert err.value.message == MISMATCH


def test_unknown_access_key():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    with pytest.raises(UnrecognizedClientException) as err:
        verifier(creds={"AKIDOTHER": SECRET}).verify_headers(method, path, query, headers, body)
    assert err.value.message == "The security token included in the request is invalid."
    assert err.value.code == "UnrecognizedClientException"


def test_missing_authorization():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    with pytest.raises(MissingAuthenticationTokenException) as err:
        verifier().verify_headers(method, path, query, drop_header(headers, "authorization"), body)
    assert err.value.message == "Missing Authentication Token"
    assert err.value.status == 403


def test_malformed_authorization_lists_all_missing_parts():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    headers = replace_header(headers, "authorization", "Bearer abc")
    with pytest.raises(IncompleteSignatureException) as err:
        verifier().verify_headers(method, path, query, headers, body)
    assert err.value.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization=Bearer abc"
    )


def test_authorization_missing_signature_only():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    auth = header(headers, "authorization")
    truncated = auth.split(", Signature=")[0]
    with pytest.raises(IncompleteSignatureException) as err:
        verifier().verify_headers(
            method, path, query, replace_header(headers, "authorization", truncated), body
        )
    assert err.value.message == (
        f"Authorization header requires 'Signature' parameter. Authorization={truncated}"
    )


def test_missing_date_header():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    auth = header(headers, "authorization")
    with pytest.raises(IncompleteSignatureException) as err:
        verifier().verify_headers(method, path, query, drop_header(headers, "x-amz-date"), body)
    assert err.value.message == (
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={auth}"
    )


def test_bad_credential_shape_and_scope():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    auth = header(headers, "authorization")
    cases = [
        (
            auth.replace("/us-west-2/transcribe/aws4_request", ""),
            IncompleteSignatureException,
            "Credential must have exactly 5 slash-delimited elements, "
            "e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20231006'",
        ),
        (
            auth.replace("/20231006/", "/20231005/"),
            InvalidSignatureException,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: '20231005' != '20231006', from '20231006T170000Z'.",
        ),
        (
            auth.replace("/transcribe/", "/s3/"),
            InvalidSignatureException,
            "Credential should be scoped to correct service: 'transcribe'. ",
        ),
        (
            auth.replace("/us-west-2/", "//"),
            InvalidSignatureException,
            "Credential should be scoped to a valid region, not ''. ",
        ),
        (
            auth.replace("/aws4_request", "/aws5_request"),
            InvalidSignatureException,
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
        ),
    ]
    for value, exc, message in cases:
        with pytest.raises(exc) as err:
            verifier().verify_headers(
                method, path, query, replace_header(headers, "authorization", value), body
            )
        assert err.value.message == message


def test_unsupported_algorithm():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    auth = header(headers, "authorization").replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
    with pytest.raises(IncompleteSignatureException, match="Unsupported AWS 'algorithm'"):
        verifier().verify_headers(method, path, query, replace_header(headers, "authorization", auth), body)


def test_host_must_be_signed():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    auth = header(headers, "authorization").replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;")
    with pytest.raises(IncompleteSignatureException) as err:
        verifier().verify_headers(method, path, query, replace_header(headers, "authorization", auth), body)
    assert err.value.message == "'Host' must be a 'SignedHeader' in the AWS Authorization."


def test_bad_date_format():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    with pytest.raises(IncompleteSignatureException) as err:
        verifier().verify_headers(
            method, path, query, replace_header(headers, "x-amz-date", "2023-10-06T17:00:00Z"), body
        )
    assert err.value.message.startswith("Date must be in ISO-8601 'basic format'. Got '2023-10-06T17:00:00Z'.")


def test_skew_16_minutes_past():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    later = SIGNED_AT + dt.timedelta(minutes=16)
    with pytest.raises(InvalidSignatureException) as err:
        verifier(at=later).verify_headers(method, path, query, headers, body)
    assert err.value.message == (
        "Signature expired: 20231006T170000Z is now earlier than 20231006T170100Z "
        "(20231006T171600Z - 15 min.)"
    )
    assert err.value.status == 403


def test_skew_16_minutes_future():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    earlier = SIGNED_AT - dt.timedelta(minutes=16)
    with pytest.raises(InvalidSignatureException) as err:
        verifier(at=earlier).verify_headers(method, path, query, headers, body)
    assert err.value.message == (
        "Signature not yet current: 20231006T170000Z is still later than 20231006T165900Z "
        "(20231006T164400Z + 15 min.)"
    )


def test_skew_limits_inclusive_and_configurable():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    for delta in (dt.timedelta(minutes=15), -dt.timedelta(minutes=15)):
        verifier(at=SIGNED_AT + delta).verify_headers(method, path, query, headers, body)
    with pytest.raises(InvalidSignatureException) as err:
        verifier(at=SIGNED_AT + dt.timedelta(minutes=6), max_skew_seconds=300).verify_headers(
            method, path, query, headers, body
        )
    assert err.value.message.endswith("(20231006T170600Z - 5 min.)")
    # A naive clock is read as UTC.
    naive = SigV4Verifier({AKID: SECRET}, clock=lambda: SIGNED_AT.replace(tzinfo=None))
    naive.verify_headers(method, path, query, headers, body)


def test_unknown_key_checked_after_clock():
    method, path, query, headers, body = boto3_request("list_transcription_jobs")
    with pytest.raises(InvalidSignatureException, match="Signature expired"):
        verifier(at=SIGNED_AT + dt.timedelta(hours=1), creds={}).verify_headers(
            method, path, query, headers, body
        )


def test_session_token():
    method, path, query, headers, body = boto3_request("list_transcription_jobs", token="FQoGZXIvYXdzE//token+/=")
    assert header(headers, "x-amz-security-token") == "FQoGZXIvYXdzE//token+/="
    assert "x-amz-security-token" in header(headers, "authorization")
    assert verifier().verify_headers(method, path, query, headers, body).access_key == AKID
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(
            method, path, query, replace_header(headers, "x-amz-security-token", "other"), body
        )


def test_date_header_instead_of_x_amz_date():
    request = AWSRequest(method="POST", url="https://transcribe.us-east-1.amazonaws.com/", data=b"{}")
    request.headers["Date"] = "placeholder"
    request.headers["X-Amz-Target"] = "Transcribe.ListVocabularies"
    SigV4Auth(Credentials(AKID, SECRET), "transcribe", "us-east-1").add_auth(request)
    assert "X-Amz-Date" not in request.headers
    headers = [(k.lower(), v) for k, v in request.headers.items()] + [("host", "transcribe.us-east-1.amazonaws.com")]
    identity = verifier().verify_headers("POST", "/", "", headers, b"{}")
    assert identity.signing_date == "20231006T170000Z"


# --- header-signed: other clients, streaming start request ------------------------------


STREAM_HEADERS = [
    ("Content-Type", "application/vnd.amazon.eventstream"),
    ("X-Amz-Target", "com.amazonaws.transcribe.Transcribe.StartStreamTranscription"),
    ("x-amzn-transcribe-language-code", "en-US"),
    ("x-amzn-transcribe-sample-rate", "16000"),
    ("x-amzn-transcribe-media-encoding", "pcm"),
    ("User-Agent", "smithy-python/0.1 transcribe-streaming"),
    ("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-EVENTS"),
]


def test_streaming_start_request_signed_by_other_client():
    method, path, query, headers, body = sign_headers(
        "POST", "https://127.0.0.1:8443/stream-transcription", STREAM_HEADERS, signer_cls=SignAllHeaders
    )
    signed = header(headers, "authorization").split("SignedHeaders=")[1].split(",")[0]
    assert "user-agent" in signed.split(";") and "x-amz-content-sha256" in signed.split(";")
    identity = verifier().verify_headers(method, path, query, headers, body)
    assert identity.region == "us-east-1"
    # HTTP/2 style: no Host header, only :authority.
    h2 = [(":authority", v) if k == "host" else (k, v) for k, v in headers]
    h2 = [(":method", "POST"), (":path", path), (":scheme", "https")] + h2
    assert verifier().verify_headers(method, path, query, h2, body).signature == identity.signature
    # The payload hash came from the header, not the (empty) body: a changed value fails.
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(
            method, path, query, replace_header(headers, "x-amz-content-sha256", hashlib.sha256(b"").hexdigest()), body
        )
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(method, path, query, replace_header(headers, "user-agent", "curl/8"), body)


def test_botocore_signed_content_sha256_header_is_the_payload_hash():
    # botocore's own signer signs X-Amz-Content-SHA256 when present (smithy-python
    # style start request); its value, not the body, is the payload hash, and the
    # header must not be counted twice in the rebuilt request.
    method, path, query, headers, body = sign_headers(
        "POST", "https://127.0.0.1:8443/stream-transcription", STREAM_HEADERS
    )
    signed = header(headers, "authorization").split("SignedHeaders=")[1].split(",")[0]
    assert "user-agent" not in signed.split(";")
    identity = verifier().verify_headers(method, path, query, headers, b"audio bytes follow later")
    assert identity.access_key == AKID
    # Unsigned user-agent may change freely.
    verifier().verify_headers(method, path, query, replace_header(headers, "user-agent", "x"), body)


def test_empty_body_hash_without_content_sha_header():
    # awslabs amazon-transcribe style: no X-Amz-Content-SHA256, empty-body hash.
    headers_in = [h for h in STREAM_HEADERS if h[0] != "X-Amz-Content-SHA256"]
    method, path, query, headers, body = sign_headers(
        "POST", "https://transcribestreaming.us-east-1.amazonaws.com/stream-transcription", headers_in
    )
    assert verifier().verify_headers(method, path, query, headers, b"").access_key == AKID
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(method, path, query, headers, b"x")


def test_repeated_headers_and_whitespace():
    request = AWSRequest(method="POST", url="https://127.0.0.1:8443/", data=b"{}")
    request.headers["X-Amz-Target"] = "Transcribe.ListVocabularies"
    request.headers["X-Custom"] = "  first   value  "
    request.headers["X-Custom"] = "second\tvalue"  # HTTPHeaders appends: two header lines
    SigV4Auth(Credentials(AKID, SECRET), "transcribe", "us-east-1").add_auth(request)
    assert "x-custom" in request.headers["Authorization"]
    headers = [(k.lower(), v) for k, v in request.headers.items()] + [("host", "127.0.0.1:8443")]
    assert [v for k, v in headers if k == "x-custom"] == ["  first   value  ", "second\tvalue"]
    assert verifier().verify_headers("POST", "/", "", headers, b"{}").access_key == AKID
    # Same values, collapsed whitespace: same canonical form.
    collapsed = [(k, " ".join(v.split())) if k == "x-custom" else (k, v) for k, v in headers]
    verifier().verify_headers("POST", "/", "", collapsed, b"{}")
    # Order of the repeated values matters.
    swapped = [(k, v) for k, v in headers if k != "x-custom"] + [
        ("x-custom", "second\tvalue"), ("x-custom", "  first   value  ")
    ]
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers("POST", "/", "", swapped, b"{}")


@pytest.mark.parametrize("path", ["/", "/stream-transcription", "/a%2Fb/c", "/x%20y/%7Euser"])
def test_raw_path_round_trips(path):
    method, raw_path, query, headers, body = sign_headers(
        "POST", "https://127.0.0.1:8443" + path, [("X-Amz-Target", "T.Op")], b"{}"
    )
    assert raw_path == path
    assert verifier().verify_headers(method, raw_path, query, headers, body).access_key == AKID
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(method, raw_path + "x", query, headers, body)
    if "%2F" in path:  # the decoded path is a different canonical URI
        with pytest.raises(InvalidSignatureException):
            verifier().verify_headers(method, path.replace("%2F", "/"), query, headers, body)


def test_query_string_on_header_signed_request():
    params = [("b", "two words"), ("a", "x+y/z"), ("c", "")]
    request = AWSRequest(method="GET", url="https://127.0.0.1:8443/things", params=params)
    SigV4Auth(Credentials(AKID, SECRET), "transcribe", "us-east-1").add_auth(request)
    wire_url = request.prepare().url  # urlencode: spaces as '+'
    parts = urlsplit(wire_url)
    assert parts.query == urlencode(params)
    headers = [(k.lower(), v) for k, v in request.headers.items()] + [("host", "127.0.0.1:8443")]
    assert verifier().verify_headers("GET", parts.path, parts.query, headers, b"").access_key == AKID
    # HTTP/2 `:path` style, query still on the path.
    verifier().verify_headers("GET", f"{parts.path}?{parts.query}", "", headers, b"")
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers("GET", parts.path, parts.query.replace("two", "three"), headers, b"")


# --- presigned (WebSocket) ---------------------------------------------------------------


def test_presigned_websocket_url_verifies():
    method, path, query, headers = presign()
    assert path == "/stream-transcription-websocket"
    q = dict(parse_qsl(query))
    assert q["X-Amz-Expires"] == "300" and q["X-Amz-SignedHeaders"] == "host"
    identity = verifier(at=SIGNED_AT + dt.timedelta(seconds=299)).verify_presigned(method, path, query, headers)
    assert identity == SignedIdentity(AKID, "us-east-1", "transcribe", q["X-Amz-Signature"], "20231006T170000Z")


def test_presigned_altered_query_fails():
    method, path, query, headers = presign()
    altered = query.replace("sample-rate=16000", "sample-rate=8000")
    assert altered != query
    with pytest.raises(InvalidSignatureException) as err:
        verifier().verify_presigned(method, path, altered, headers)
    assert err.value.message == MISMATCH
    with pytest.raises(InvalidSignatureException):
        verifier().verify_presigned(method, path, query + "&extra=1", headers)
    with pytest.raises(InvalidSignatureException):  # the host is signed
        verifier().verify_presigned(method, path, query, replace_header(headers, "host", "127.0.0.1:8444"))


def test_presigned_expired():
    method, path, query, headers = presign()
    with pytest.raises(InvalidSignatureException) as err:
        verifier(at=SIGNED_AT + dt.timedelta(seconds=301)).verify_presigned(method, path, query, headers)
    assert err.value.message == (
        "Signature expired: 20231006T170000Z is now earlier than 20231006T170001Z "
        "(20231006T170501Z - 5 min.)"
    )


def test_presigned_not_yet_current():
    method, path, query, headers = presign()
    verifier(at=SIGNED_AT - dt.timedelta(minutes=15)).verify_presigned(method, path, query, headers)
    with pytest.raises(InvalidSignatureException, match="^Signature not yet current: 20231006T170000Z"):
        verifier(at=SIGNED_AT - dt.timedelta(minutes=16)).verify_presigned(method, path, query, headers)


def test_presigned_expires_too_large():
    method, path, query, headers = presign(expires=600)
    with pytest.raises(InvalidSignatureException) as err:
        verifier().verify_presigned(method, path, query, headers)
    assert err.value.message == (
        "X-Amz-Expires must be less than or equal to 300 seconds (5 min.) for this service, got 600."
    )
    # A larger cap accepts it.
    verifier().verify_presigned(method, path, query, headers, max_expires=600)


def test_presigned_session_token_and_unknown_key():
    method, path, query, headers = presign(creds=Credentials(AKID, SECRET, "session/token+="))
    assert dict(parse_qsl(query))["X-Amz-Security-Token"] == "session/token+="
    verifier().verify_presigned(method, path, query, headers)
    with pytest.raises(UnrecognizedClientException):
        verifier(creds={"OTHER": SECRET}).verify_presigned(method, path, query, headers)


def test_presigned_missing_and_malformed_parameters():
    method, path, query, headers = presign()
    pairs = parse_qsl(query)
    without = lambda name: urlencode([(k, v) for k, v in pairs if k != name])  # noqa: E731
    with pytest.raises(MissingAuthenticationTokenException):
        verifier().verify_presigned(method, path, without("X-Amz-Algorithm"), headers)
    with pytest.raises(MissingAuthenticationTokenException):
        verifier().verify_presigned(method, path, "", headers)
    with pytest.raises(IncompleteSignatureException) as err:
        verifier().verify_presigned(method, path, without("X-Amz-Signature"), headers)
    assert err.value.message == (
        "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
        "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. "
        "Re-examine the query-string parameters."
    )
    bad_expires = urlencode([(k, "soon" if k == "X-Amz-Expires" else v) for k, v in pairs])
    with pytest.raises(IncompleteSignatureException, match="X-Amz-Expires should be a number"):
        verifier().verify_presigned(method, path, bad_expires, headers)
    wrong_service = presign(service="transcribe-streaming")
    with pytest.raises(InvalidSignatureException, match="correct service: 'transcribe'"):
        verifier().verify_presigned(*wrong_service)


def test_presigned_with_session_token_over_default_port():
    # Host without port (default https port): botocore signs host without ':443'.
    method, path, query, headers = presign(url="https://transcribestreaming.us-east-1.amazonaws.com/stream-transcription-websocket")
    assert header(headers, "host") == "transcribestreaming.us-east-1.amazonaws.com"
    assert verifier().verify_presigned(method, path, query, headers).region == "us-east-1"


# --- the payload hash covers the body received -------------------------------------------

JSON_HEADERS = [
    ("Content-Type", "application/x-amz-json-1.1"),
    ("X-Amz-Target", "Transcribe.StartTranscriptionJob"),
]
BODY_A = b'{"TranscriptionJobName": "a"}'
BODY_B = b'{"TranscriptionJobName": "b"}'


def signed_with_content_sha(value: str, body: bytes):
    """A request signed with `X-Amz-Content-SHA256: value` among its signed headers."""
    return sign_headers(
        "POST", "https://transcribe.us-east-1.amazonaws.com/", [*JSON_HEADERS, ("X-Amz-Content-SHA256", value)],
        body, signer_cls=SignAllHeaders,
    )


def test_a_signed_content_sha256_of_another_body_is_a_mismatch():
    method, path, query, headers, _ = signed_with_content_sha(hashlib.sha256(BODY_A).hexdigest(), BODY_A)
    assert verifier().verify_headers(method, path, query, headers, BODY_A, streaming_payload_hashes=())
    with pytest.raises(InvalidSignatureException) as refused:
        verifier().verify_headers(method, path, query, headers, BODY_B, streaming_payload_hashes=())
    assert refused.value.message == MISMATCH


def test_the_content_sha256_may_be_upper_case_hex():
    method, path, query, headers, body = signed_with_content_sha(hashlib.sha256(BODY_A).hexdigest().upper(), BODY_A)
    assert verifier().verify_headers(method, path, query, headers, body, streaming_payload_hashes=()).access_key == AKID


@pytest.mark.parametrize("value", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-EVENTS"])
def test_a_payload_hash_standing_for_no_hash_is_refused_when_the_body_is_complete(value):
    method, path, query, headers, body = signed_with_content_sha(value, BODY_A)
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(method, path, query, headers, body, streaming_payload_hashes=())
    # An event-stream start request (the default) takes the value verbatim.
    assert verifier().verify_headers(method, path, query, headers, body).access_key == AKID


def test_an_unsigned_content_sha256_must_match_the_body_too():
    method, path, query, headers, body = sign_headers("POST", "https://transcribe.us-east-1.amazonaws.com/", JSON_HEADERS, BODY_A)
    headers = [*headers, ("x-amz-content-sha256", hashlib.sha256(BODY_B).hexdigest())]
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(method, path, query, headers, body, streaming_payload_hashes=())


def test_a_content_sha256_sent_twice_is_a_mismatch():
    digest = hashlib.sha256(BODY_A).hexdigest()
    method, path, query, headers, body = signed_with_content_sha(digest, BODY_A)
    with pytest.raises(InvalidSignatureException):
        verifier().verify_headers(
            method, path, query, [*headers, ("x-amz-content-sha256", digest)], body, streaming_payload_hashes=()
        )
