"""Hostile and unlucky input on the awsJson wire (issue 11, items 1, 2 and 9), end to end.

Requests go out as raw HTTP (httpx, or a socket where the bytes matter) signed with botocore's
SigV4Auth against the session's emulator; requests for every operation come from botocore's
model (tests/e2e/wire_requests.py). What is checked is AWS's behaviour: the signature covers the
body, null is absent, malformed JSON is a SerializationException, never a 5xx; the developer
guide's own HTTP example works as printed. Where AWS's answer is unknown the emulator's choice
is the one its modules document (emulator/aws/json_protocol.py, validation.py, sigv4.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import time

import httpx
import psutil
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings

from tests.e2e import wire_requests as w
from tests.support import audio_path, wait_for_job

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
MAX_BODY_BYTES = 4 * 1024 * 1024  # emulator/aws/json_protocol.py MAX_BODY_BYTES


def post(emulator, target: str, body, *, path: str = "/", extra: dict | None = None, send=None) -> httpx.Response:
    """POST `body` (dict or bytes), signed over `body`, or over it but sending `send` instead."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = w.signed_headers(emulator.endpoint, target, data, path, extra=extra)
    return httpx.post(emulator.endpoint + path, content=data if send is None else send, headers=headers, timeout=60)


def error_type(response: httpx.Response) -> str:
    return response.json()["__type"]


def start_body(name: str) -> dict:
    return {"TranscriptionJobName": name, "LanguageCode": "en-US", "Media": {"MediaFileUri": w.MISSING_MEDIA}}


def job_exists(transcribe, name: str) -> bool:
    return any(
        j["TranscriptionJobName"] == name
        for j in transcribe.list_transcription_jobs(JobNameContains=name)["TranscriptionJobSummaries"]
    )


# --- the signature covers the body ------------------------------------------------------------


def test_a_body_swapped_under_a_signed_content_hash_is_refused_and_starts_nothing(emulator, transcribe, job_name):
    signed_over, sent = start_body(f"{job_name}-a"), start_body(f"{job_name}-b")
    body_a = json.dumps(signed_over).encode()
    response = post(
        emulator,
        "Transcribe.StartTranscriptionJob",
        body_a,
        extra={"X-Amz-Content-SHA256": hashlib.sha256(body_a).hexdigest()},
        send=json.dumps(sent).encode(),
    )

    assert response.status_code == 403, response.text
    assert response.json() == {"__type": "InvalidSignatureException", "Message": SIGNATURE_MISMATCH}
    assert not job_exists(transcribe, f"{job_name}-a") and not job_exists(transcribe, f"{job_name}-b")


def test_a_signed_content_hash_of_the_body_sent_is_accepted(emulator, transcribe, job_name):
    body = json.dumps(start_body(job_name)).encode()

    response = post(
        emulator,
        "Transcribe.StartTranscriptionJob",
        body,
        extra={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
    )

    assert response.status_code == 200, response.text
    assert job_exists(transcribe, job_name)


@pytest.mark.parametrize("payload_hash", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-EVENTS"])
def test_a_payload_hash_that_is_not_a_hash_is_refused(emulator, transcribe, job_name, payload_hash):
    response = post(
        emulator, "Transcribe.StartTranscriptionJob", start_body(job_name), extra={"X-Amz-Content-SHA256": payload_hash}
    )

    assert response.status_code == 403, response.text
    assert error_type(response) == "InvalidSignatureException"
    assert not job_exists(transcribe, job_name)


# --- null is absent, in every operation ------------------------------------------------------------


@pytest.mark.parametrize("operation", w.operations())
def test_null_members_never_cause_a_server_error(emulator, operation):
    answers = {}
    for label, params in w.null_variants(operation):
        response = post(emulator, "Transcribe." + operation, params)
        answers[label] = (response.status_code, response.text[:200])

    assert {label: a for label, a in answers.items() if a[0] >= 500} == {}


def test_null_paging_members_list_like_absent_ones(emulator):
    absent = post(emulator, "Transcribe.ListTranscriptionJobs", {})
    null = post(emulator, "Transcribe.ListTranscriptionJobs", {"NextToken": None, "MaxResults": None, "Status": None})

    assert null.status_code == absent.status_code == 200, null.text
    assert null.json() == absent.json()


def test_a_job_with_null_settings_starts_like_one_without(emulator, transcribe, job_name):
    body = {
        **start_body(job_name),
        "Settings": None,
        "ModelSettings": None,
        "JobExecutionSettings": None,
        "Subtitles": None,
        "LanguageIdSettings": None,
        "Tags": None,
        "KMSEncryptionContext": None,
        "ContentRedaction": None,
        "ToxicityDetection": None,
        "LanguageOptions": None,
    }

    response = post(emulator, "Transcribe.StartTranscriptionJob", body)

    assert response.status_code == 200, response.text
    assert job_exists(transcribe, job_name)


# --- malformed JSON is a SerializationException -------------------------------------------------


@pytest.mark.parametrize("depth", [1001, 100_000])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_deep_nesting_is_a_serialization_error(emulator, depth, kind):
    nested = "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth
    response = post(emulator, "Transcribe.ListTranscriptionJobs", ('{"Unknown": ' + nested + "}").encode())

    assert response.status_code == 400, response.text
    assert error_type(response) == "SerializationException"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_non_finite_numbers_are_a_serialization_error(emulator, number):
    response = post(emulator, "Transcribe.ListTranscriptionJobs", f'{{"MaxResults": {number}}}'.encode())

    assert response.status_code == 400, response.text
    assert error_type(response) == "SerializationException"


@pytest.mark.parametrize(
    "escaped, code_point",
    [(r"\ud800", "U+D800"), (r"a\udfffb", "U+DFFF"), (r"\u0000", "U+0000"), (r"a\u0000b", "U+0000")],
)
@pytest.mark.parametrize(
    "operation, template, path",
    [
        ("ListTranscriptionJobs", '{"JobNameContains": "%s"}', "jobNameContains"),
        ("GetTranscriptionJob", '{"TranscriptionJobName": "%s"}', "transcriptionJobName"),
        ("CreateVocabulary", '{"VocabularyName": "v", "LanguageCode": "en-US", "Phrases": ["%s"]}', "phrases"),
    ],
)
def test_lone_surrogates_and_nul_are_a_serialization_error(emulator, operation, template, path, escaped, code_point):
    response = post(emulator, "Transcribe." + operation, (template % escaped).encode())

    assert response.status_code == 400, response.text
    assert response.json() == {
        "__type": "SerializationException",
        "Message": f"Strings must be valid Unicode without NUL characters: found {code_point} at '{path}'",
    }


def test_a_surrogate_pair_is_text_like_any_other(emulator):
    response = post(emulator, "Transcribe.ListTranscriptionJobs", rb'{"JobNameContains": "\ud83d\ude00"}')

    assert response.status_code == 400, response.text  # the model's pattern, not the wire, refuses it
    assert error_type(response) == "BadRequestException"
    assert response.json()["Message"].startswith("1 validation error detected: Value '\U0001f600' at 'jobNameContains'")


# --- bodies over the limit are refused before they are held --------------------------------------


def _big_chunks(size: int):
    piece = b"a" * (1024 * 1024)
    yield b'{"Unknown": "'
    for _ in range(size // len(piece)):
        yield piece
    yield b'"}'


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_64_mb_body_is_refused_without_being_held(emulator, framing):
    size = 64 * 1024 * 1024
    process = psutil.Process(emulator.proc.pid)
    before = process.memory_info().rss
    content = b"a" * size if framing == "content-length" else _big_chunks(size)
    headers = {"Content-Type": w.CONTENT_TYPE, "X-Amz-Target": "Transcribe.ListTranscriptionJobs"}  # unauthenticated

    response = httpx.post(emulator.endpoint + "/", content=content, headers=headers, timeout=120)

    grown = process.memory_info().rss - before
    assert response.status_code == 413, response.text
    assert response.json() == {
        "__type": "RequestEntityTooLargeException",
        "Message": f"Request body must be at most {MAX_BODY_BYTES} bytes for this service.",
    }
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB"
    assert httpx.get(emulator.endpoint + "/_emulator/health", timeout=10).status_code in (200, 503)


def test_a_body_just_under_the_limit_is_answered(emulator):
    filler = "a" * (MAX_BODY_BYTES - 100)
    response = post(emulator, "Transcribe.ListTranscriptionJobs", {"Unknown": filler, "MaxResults": 1})

    assert response.status_code == 200, response.text


def test_requests_are_answered_while_a_large_body_is_parsed(emulator):
    # ~1 million JSON decimals (4 MB) take the parser about a second; it runs off the event loop.
    big = ("[" + ",".join(["0.5"] * (MAX_BODY_BYTES // 4 - 10)) + "]").encode()
    body = b'{"Unknown": ' + big + b"}"
    headers = w.signed_headers(emulator.endpoint, "Transcribe.ListTranscriptionJobs", body)
    small = w.signed_headers(emulator.endpoint, "Transcribe.ListTranscriptionJobs", b"{}")

    async def scenario():
        async with httpx.AsyncClient(timeout=60) as client:
            import asyncio

            large = asyncio.create_task(client.post(emulator.endpoint + "/", content=body, headers=headers))
            latencies = []
            while not large.done():
                started = time.perf_counter()
                r = await client.post(emulator.endpoint + "/", content=b"{}", headers=small)
                assert r.status_code == 200
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.02)
            return (await large), latencies

    import asyncio

    response, latencies = asyncio.run(scenario())
    assert response.status_code == 200, response.text
    assert max(latencies, default=0) < 2.0, latencies


# --- AWS's own HTTP example, and both target forms --------------------------------------------------

# The developer guide's batch example ("Transcribing with HTTP or WebSockets"), as printed;
# placeholders filled with this emulator's values (the guide's DOC-EXAMPLE-BUCKET breaks S3's
# lower-case bucket rule, so the bucket is its lower-case twin).
GUIDE_BODY = """{
    "TranscriptionJobName": "my-first-transcription-job",
    "LanguageCode": "en-US",
    "Media": {
        "MediaFileUri": "s3://doc-example-bucket/my-input-files/my-media-file.flac"
    },
    "OutputBucketName": "doc-example-bucket",
    "OutputKey": "my-output-files/"
}"""
GUIDE_SIGNED_HEADERS = "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-security-token"


def test_the_developer_guides_http_example_runs_a_job(emulator, s3):
    s3.create_bucket(Bucket="doc-example-bucket")
    s3.upload_file(str(audio_path("jfk")), "doc-example-bucket", "my-input-files/my-media-file.flac")
    body = GUIDE_BODY.encode()
    amz_date = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {  # the guide's headers, in its order, plus the token it signs and a Content-Length
        "host": "transcribe.us-west-2.amazonaws.com",
        "x-amz-target": "com.amazonaws.transcribe.Transcribe.StartTranscriptionJob",
        "content-type": "application/x-amz-json-1.1",
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
        "x-amz-date": amz_date,
        "x-amz-security-token": "FwoGZXIvYXdzEXAMPLESESSIONTOKEN",
    }
    request = AWSRequest(
        method="POST", url="https://transcribe.us-west-2.amazonaws.com/transcribe", data=body, headers=headers
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials("test", "test"), "transcribe", "us-west-2")
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert signer.signed_headers(signer.headers_to_sign(request)) == ";".join(sorted(GUIDE_SIGNED_HEADERS.split(";")))
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential=test/{amz_date[:8]}/us-west-2/transcribe/aws4_request, "
        f"SignedHeaders={GUIDE_SIGNED_HEADERS}, Signature={signature}"
    )
    wire = "POST /transcribe HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    wire += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"

    with socket.create_connection(("127.0.0.1", emulator.port), timeout=60) as conn:
        conn.sendall(wire.encode() + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk

    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:500]
    assert json.loads(payload)["TranscriptionJob"]["TranscriptionJobName"] == "my-first-transcription-job"
    oregon = emulator.transcribe(region_name="us-west-2")
    job = wait_for_job(oregon, "my-first-transcription-job", timeout=300)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Transcript"]["TranscriptFileUri"].endswith(
        "/doc-example-bucket/my-output-files/my-first-transcription-job.json"
    )
    s3.head_object(Bucket="doc-example-bucket", Key="my-output-files/my-first-transcription-job.json")


@pytest.mark.parametrize("path", ["/", "/transcribe", "/any/other/path"])
@pytest.mark.parametrize("prefix", ["Transcribe.", "com.amazonaws.transcribe.Transcribe."])
def test_both_target_forms_work_on_any_path(emulator, prefix, path):
    response = post(emulator, prefix + "ListTranscriptionJobs", {"MaxResults": 1}, path=path)

    assert response.status_code == 200, response.text
    assert "TranscriptionJobSummaries" in response.json()


@pytest.mark.parametrize(
    "target",
    [
        "com.amazonaws.transcribe.Transcribe.NoSuchOp",
        "com.amazonaws.transcribe.ListTranscriptionJobs",
        "Transcribe.Transcribe.ListTranscriptionJobs",
    ],
)
def test_malformed_qualified_targets_are_unknown_operations(emulator, target):
    response = post(emulator, target, {}, path="/transcribe")

    assert response.status_code == 400, response.text
    assert error_type(response) == "UnknownOperationException"


def test_the_emulators_own_routes_keep_their_answers(emulator):
    assert httpx.get(emulator.endpoint + "/_emulator/health", timeout=10).status_code in (200, 503)
    assert httpx.get(emulator.endpoint + "/", timeout=10, follow_redirects=False).status_code in (302, 307)


# --- property-based fuzz of every operation ---------------------------------------------------------


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(request=w.requests())
def test_fuzzed_signed_requests_never_get_a_server_error(emulator, request):
    operation, target, body = request

    response = httpx.post(
        emulator.endpoint + "/", content=body, headers=w.signed_headers(emulator.endpoint, target, body), timeout=60
    )

    assert response.status_code < 500, (target, body[:300], response.text)
