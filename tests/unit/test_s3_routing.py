"""Which requests on the API port the S3 proxy takes (emulator/s3_proxy.is_s3_request)."""

from __future__ import annotations

import pytest

from emulator.aws.sigv4 import service_from_unverified
from emulator.s3_proxy import is_s3_request


def scope(method: str, path: str, query: str = "", **headers: str) -> dict:
    raw = [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": method, "path": path, "query_string": query.encode(), "headers": raw}


def sigv4(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )


@pytest.mark.parametrize(
    "request_scope",
    [
        scope("GET", "/", authorization=sigv4("s3")),  # ListBuckets
        scope("PUT", "/bucket", authorization=sigv4("s3")),  # CreateBucket
        scope("PUT", "/bucket/a/b.wav", authorization=sigv4("s3"), content_encoding="aws-chunked"),
        scope("POST", "/bucket/key", "uploads", authorization=sigv4("s3")),  # CreateMultipartUpload
        scope("POST", "/console/key", authorization=sigv4("s3")),  # a bucket named console: the scope decides
        scope("GET", "/bucket/t.json", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
              "test%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc"),  # presigned
        scope("GET", "/bucket/key.wav"),  # anonymous object GET
        scope("HEAD", "/bucket"),
        scope("GET", "/", "list-type=2"),
        scope("POST", "/bucket", "delete"),  # DeleteObjects without a signature
    ],
)
def test_s3_requests_go_to_s3(request_scope):
    assert is_s3_request(request_scope)


@pytest.mark.parametrize(
    "request_scope",
    [
        scope("POST", "/", authorization=sigv4("transcribe"), x_amz_target="Transcribe.ListVocabularies"),
        scope("POST", "/", x_amz_target="Transcribe.StartTranscriptionJob"),  # unsigned awsJson
        scope("POST", "/transcribe", content_type="application/x-amz-json-1.1"),  # awsJson on another path
        scope("POST", "/service/Transcribe/operation/ListVocabularies", authorization=sigv4("transcribe")),
        scope("POST", "/stream-transcription", authorization=sigv4("transcribe")),
        scope("GET", "/stream-transcription-websocket", "X-Amz-Credential=test%2F20261206%2Fus-east-1%2F"
              "transcribe%2Faws4_request"),
        scope("GET", "/", accept="text/html"),  # a browser: redirected to the console
        scope("GET", "/"),
        scope("GET", "/console/jobs"),
        scope("GET", "/_emulator/health"),
        scope("PATCH", "/bucket/key"),
    ],
)
def test_transcribe_the_console_and_the_emulator_stay(request_scope):
    assert not is_s3_request(request_scope)


def test_websockets_are_never_proxied():
    assert not is_s3_request({**scope("GET", "/bucket/key", authorization=sigv4("s3")), "type": "websocket"})


def test_credential_service_reads_the_header_or_the_query():
    assert service_from_unverified({"authorization": sigv4("s3")}, "") == "s3"
    presigned = "X-Amz-Credential=k%2F20261206%2Feu-west-1%2Ftranscribe%2Faws4_request"
    assert service_from_unverified({}, presigned) == "transcribe"
    assert service_from_unverified({"authorization": "Basic dXNlcjpwdw=="}, "") is None
    assert service_from_unverified({}, "X-Amz-Credential=garbage") is None


def test_presigned_urls_default_to_the_api_port_a_local_client_reaches():
    from emulator.config import Settings

    assert Settings(port=9090).effective_s3_public_endpoint() == "http://127.0.0.1:9090"
    assert Settings(host="0.0.0.0", port=8080).effective_s3_public_endpoint() == "http://127.0.0.1:8080"
    assert Settings(host="::1", port=8080).effective_s3_public_endpoint() == "http://[::1]:8080"
    assert Settings(s3_public_endpoint="http://localhost:9000").effective_s3_public_endpoint() == "http://localhost:9000"
