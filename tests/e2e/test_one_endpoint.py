"""One endpoint: with only AWS_ENDPOINT_URL set to the API URL, boto3 and the AWS CLI reach
both Transcribe and S3 (emulator/s3_proxy.py passes S3 requests to the embedded SeaweedFS).

Real clients against the session emulator: boto3 clients made with no endpoint_url, the AWS
CLI (`aws s3`) in a subprocess with a 200 MB upload while the emulator's RSS is sampled, and
a transcript downloaded through the presigned URL the job returns (which points at the API
port by default).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import httpx
import psutil
import pytest

from tests.support import audio_path, manifest, wait_for_job, wer

AWS = Path(sys.executable).parent / "aws"
BIG = 200 * 1024**2  # bytes: the upload that must stream through the emulator


@pytest.fixture
def endpoint_env(emulator, tmp_path, monkeypatch) -> dict:
    """Only AWS_ENDPOINT_URL (and test credentials) point clients at the emulator; no config file."""
    env = {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_boto3_with_aws_endpoint_url_alone_serves_s3_and_transcribe(emulator, endpoint_env):
    s3 = boto3.client("s3")  # no endpoint_url: AWS_ENDPOINT_URL decides
    transcribe = boto3.client("transcribe")
    bucket = f"one-endpoint-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(audio_path("jfk")), bucket, "jfk.flac")
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    name = f"one-endpoint-{uuid.uuid4().hex[:8]}"
    transcribe.start_transcription_job(
        TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": f"s3://{bucket}/jfk.flac"}
    )
    job = wait_for_job(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")

    uri = job["Transcript"]["TranscriptFileUri"]
    assert uri.startswith(f"{emulator.endpoint}/"), uri  # --s3-public-endpoint defaults to the API port
    document = httpx.get(uri, timeout=30).json()  # presigned GET, verified by SeaweedFS behind the proxy
    text = document["results"]["transcripts"][0]["transcript"]
    assert wer(manifest()["jfk"]["text"], text) < 0.15, text
    # The object API through the same port: ranges and HEAD pass through unchanged.
    size = audio_path("jfk").stat().st_size
    assert s3.head_object(Bucket=bucket, Key="jfk.flac")["ContentLength"] == size
    part = s3.get_object(Bucket=bucket, Key="jfk.flac", Range="bytes=0-3")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206 and part["Body"].read() == b"fLaC"


def _peak_rss(pid: int, stop: threading.Event, peaks: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        peaks.append(process.memory_info().rss)
        time.sleep(0.05)


def test_aws_cli_copies_200_mb_through_the_api_port_without_buffering_it(emulator, endpoint_env, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:  # generated, not sparse zeros only: a pattern per MiB
        block = os.urandom(1024**2)
        for i in range(BIG // len(block)):
            f.write(block[:-4] + i.to_bytes(4, "big"))
    bucket = f"cli-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **endpoint_env}

    def aws(*args: str, timeout: float = 300) -> str:
        done = subprocess.run([str(AWS), *args], env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stderr
        return done.stdout

    aws("s3", "mb", f"s3://{bucket}")
    baseline = psutil.Process(emulator.proc.pid).memory_info().rss
    stop, peaks = threading.Event(), []
    sampler = threading.Thread(target=_peak_rss, args=(emulator.proc.pid, stop, peaks), daemon=True)
    sampler.start()
    try:
        aws("s3", "cp", str(big), f"s3://{bucket}/big.bin", "--only-show-errors")
    finally:
        stop.set()
        sampler.join()
    growth = max(peaks) - baseline
    assert growth < BIG / 4, f"the emulator's RSS grew by {growth / 1024**2:.0f} MiB during a 200 MiB upload"

    listing = aws("s3api", "head-object", "--bucket", bucket, "--key", "big.bin")
    assert json.loads(listing)["ContentLength"] == BIG
    # The download streams back the same bytes (checked in pieces, never held whole).
    body = boto3.client("s3").get_object(Bucket=bucket, Key="big.bin")["Body"]
    offset = 0
    with open(big, "rb") as original:
        for piece in iter(lambda: body.read(4 * 1024**2), b""):
            assert piece == original.read(len(piece)), f"bytes differ after offset {offset}"
            offset += len(piece)
    assert offset == BIG
    aws("s3", "rb", f"s3://{bucket}", "--force")


def test_the_aws_cli_alone_uploads_transcribes_and_reads_the_transcript(endpoint_env):
    env = {**os.environ, **endpoint_env}

    def aws(*args: str) -> str:
        done = subprocess.run([str(AWS), *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    bucket, name = f"cli-job-{uuid.uuid4().hex[:8]}", f"cli-job-{uuid.uuid4().hex[:8]}"
    aws("s3", "mb", f"s3://{bucket}")
    aws("s3", "cp", str(audio_path("jfk")), f"s3://{bucket}/jfk.flac", "--only-show-errors")
    aws("transcribe", "start-transcription-job", "--transcription-job-name", name, "--language-code", "en-US",
        "--media", f"MediaFileUri=s3://{bucket}/jfk.flac")
    aws("transcribe", "wait", "transcription-job-completed", "--transcription-job-name", name)
    job = json.loads(aws("transcribe", "get-transcription-job", "--transcription-job-name", name))["TranscriptionJob"]
    document = httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=30).json()
    assert "ask not what your country can do for you" in document["results"]["transcripts"][0]["transcript"].lower()


def test_transcribe_calls_and_the_console_are_never_taken_for_s3(emulator):
    browser = httpx.get(emulator.endpoint + "/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code in (303, 307) and "/console" in browser.headers["location"]
    # An unsigned awsJson call (X-Amz-Target) is Transcribe's, whatever its path.
    wrong = httpx.post(
        emulator.endpoint + "/transcribe",
        headers={"X-Amz-Target": "Transcribe.ListVocabularies", "Content-Type": "application/x-amz-json-1.1"},
        content=b"{}",
    )
    assert wrong.headers["content-type"].startswith("application/x-amz-json"), wrong.text
    # An unsigned S3-shaped GET goes to S3, which answers in its XML, and refuses it: the API
    # port (reachable off loopback with --host 0.0.0.0) opens no object to anonymous readers.
    s3 = emulator.s3()
    s3.create_bucket(Bucket="anonymous-check")
    s3.put_object(Bucket="anonymous-check", Key="secret.txt", Body=b"the content")
    anonymous = httpx.get(emulator.endpoint + "/anonymous-check/secret.txt")
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text
    assert "the content" not in anonymous.text
    assert httpx.get(emulator.endpoint + "/_emulator/health").json()["s3_public_endpoint"] == emulator.endpoint


def _connections_to(pid: int, port: int) -> set:
    """The emulator's open TCP connections to `port`, by local address."""
    return {c.laddr for c in psutil.Process(pid).net_connections("tcp") if c.raddr and c.raddr.port == port}


def test_an_upload_cut_short_by_the_client_frees_its_s3_connection(emulator, s3, endpoint_env):
    """A client that goes away mid-body must not leave the proxy waiting on the S3 server
    (the emulator's own S3 client keeps connections of its own: only the new one counts)."""
    import socket

    s3.create_bucket(Bucket="cut-short")
    url = boto3.client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": "cut-short", "Key": "half.bin"}, ExpiresIn=300
    )
    target = url.removeprefix(emulator.endpoint)
    before = _connections_to(emulator.proc.pid, emulator.s3_port)
    with socket.create_connection(("127.0.0.1", emulator.port)) as client:
        head = f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{emulator.port}\r\nContent-Length: {50 * 1024**2}\r\n\r\n"
        client.sendall(head.encode())
        client.sendall(b"\0" * 1024**2)
        deadline = time.monotonic() + 10
        while not (proxied := _connections_to(emulator.proc.pid, emulator.s3_port) - before):
            assert time.monotonic() < deadline, "the proxy never connected to the S3 server"
            time.sleep(0.05)
    deadline = time.monotonic() + 10
    while proxied & _connections_to(emulator.proc.pid, emulator.s3_port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not proxied & _connections_to(emulator.proc.pid, emulator.s3_port)
    assert "half.bin" not in [o["Key"] for o in s3.list_objects_v2(Bucket="cut-short").get("Contents", [])]
