"""The AWS SDK for JavaScript v3 (@aws-sdk/client-transcribe-streaming, unmodified) against the
session's emulator, over HTTP/2 (h2c on the API port, TLS + ALPN h2 on the HTTPS port) and over
WebSocket (the SDK's browser transport in Node with the `ws` package, wss on the WebSocket port).

The client scripts live in tests/streaming/node/ (package.json + package-lock.json pin the SDK);
`npm ci` installs them into tests/streaming/node/node_modules (git-ignored) at most once a
session. Each script streams real speech (s16le PCM made from the shared audio) at real-time
pace and prints JSON lines; the final transcript is scored against the manifest reference.

The HTTP/2 tests guard emulator/streaming/goaway.py: the SDK sends GOAWAY right after the
response headers, and without the patch the stream is cut there (no or one TranscriptEvent).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.streaming.conftest import HERE, run_client
from tests.support import manifest, wer

NODE_DIR = HERE / "node"
MAX_WER = 0.25  # tiny.en streaming on short clips; raw faster-whisper is about 0.11 pooled
CLIENT_TIMEOUT = 300  # seconds; a loaded 2-core machine recognises far slower than real time
NODE_MAJOR = 20  # @aws-sdk/client-transcribe-streaming's engines field: node >= 20


@pytest.fixture(scope="session")
def node_client():
    """node_client(script, *args, env=None) -> JSON lines of a client script in tests/streaming/node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed: the JS SDK clients cannot run")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        pytest.skip(f"the JS SDK needs Node.js >= {NODE_MAJOR}, found {version}")
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"

    def _client(script: str, *args: str, env: dict | None = None) -> list[dict]:
        return run_client([node, str(NODE_DIR / script), *args], env, timeout=CLIENT_TIMEOUT)

    return _client


def transcript_events(lines: list[dict]) -> list[dict]:
    return [result for line in lines if line["event"] == "TranscriptEvent" for result in line["results"]]


def final_text(lines: list[dict]) -> str:
    return " ".join(r["Transcript"] for r in transcript_events(lines) if not r["IsPartial"])


def assert_full_transcript(lines: list[dict], item_id: str) -> None:
    assert lines[-1]["event"] == "end", lines[-1]
    events = [line for line in lines if line["event"] == "TranscriptEvent"]
    assert len(events) >= 2, f"the stream was cut after {len(events)} event(s): {lines}"
    reference = manifest()[item_id]["text"]
    hypothesis = final_text(lines)
    assert wer(reference, hypothesis) <= MAX_WER, (reference, hypothesis)


def test_http2_h2c(emulator, pcm, node_client):
    item = "ls_61-70968-0000"
    lines = node_client("http2_client.mjs", "--endpoint", emulator.endpoint, "--audio", str(pcm(item)))
    assert_full_transcript(lines, item)
    end = lines[-1]
    assert end["LanguageCode"] == "en-US" and end["MediaSampleRateHertz"] == 16000
    assert end["SessionId"] and end["RequestId"]


def test_http2_tls(emulator, pcm, node_client):
    item = "librivox_0930"
    lines = node_client(
        "http2_client.mjs", "--endpoint", emulator.https_endpoint, "--audio", str(pcm(item)),
        env={"NODE_EXTRA_CA_CERTS": str(emulator.ca_file)},
    )
    assert_full_transcript(lines, item)


def websocket_stream(emulator, node_client, audio, *args: str) -> list[dict]:
    """websocket_client.mjs against the emulator's WebSocket port. The SDK forces wss: and
    appends :8443 to the (signed) host; the script connects to the emulator's port instead,
    keeping the signed Host, as a port forward would. It keeps its "microphone" open with
    silence until no partial result is pending: the SDK closes the socket the moment its audio
    ends, and results sent after that are lost."""
    return node_client(
        "websocket_client.mjs",
        "--endpoint", "https://127.0.0.1",
        "--connect-port", str(emulator.websocket_port),
        "--audio", str(audio),
        "--hold-ms", "60000",
        *args,
        env={"NODE_EXTRA_CA_CERTS": str(emulator.ca_file)},
    )


def test_websocket(emulator, pcm, node_client):
    """The browser wiring: unsigned AudioEvent frames."""
    item = "ls_61-70968-0000"
    lines = websocket_stream(emulator, node_client, pcm(item))
    assert_full_transcript(lines, item)
    results = transcript_events(lines)
    finals = {r["ResultId"] for r in results if not r["IsPartial"]}
    partials = [r for r in results if r["IsPartial"]]
    assert partials, "no partial results"
    assert {r["ResultId"] for r in partials} <= finals, "a partial result never got its final"


def test_websocket_signed_frames(emulator, pcm, node_client):
    """Node's default payload handler with the WebSocket transport: every frame is a
    :date/:chunk-signature envelope, the chain seeded by the URL's X-Amz-Signature."""
    item = "sb_spk1_snt1"
    lines = websocket_stream(emulator, node_client, pcm(item), "--signed-frames")
    assert_full_transcript(lines, item)
