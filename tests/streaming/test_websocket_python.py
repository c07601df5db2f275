"""A Python WebSocket client against the session's emulator, as a user without an AWS SDK writes
it (digest §5.8, §6.2): presign with botocore's SigV4QueryAuth (X-Amz-Expires=300), connect with
the `websockets` package over wss (trusting the emulator's CA), send AudioEvent messages as
binary frames, read TranscriptEvent / exception messages (decoded with botocore's event stream
parser, not the emulator's), end with an empty AudioEvent and read until the server closes.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import botocore.auth
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from emulator.aws.eventstream import encode_message
from tests.support import CREDENTIALS, manifest, wer

PATH = "/stream-transcription-websocket"
MEDICAL_PATH = "/medical-stream-transcription-websocket"
MAX_WER = 0.25
CHUNK_SECONDS = 0.1
AUDIO_HEADERS = {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"}
STREAM_TIMEOUT = 300  # seconds; a loaded 2-core machine recognises far slower than real time


def presign(
    emulator, params: dict[str, str], expires: int = 300, secret_key: str | None = None, path: str = PATH
) -> str:
    """wss URL of the emulator's WebSocket port, presigned as digest §6.2 describes."""
    url = f"https://127.0.0.1:{emulator.websocket_port}{path}"
    request = AWSRequest(method="GET", url=url, params=params)
    credentials = Credentials(CREDENTIALS["aws_access_key_id"], secret_key or CREDENTIALS["aws_secret_access_key"])
    SigV4QueryAuth(credentials, "transcribe", CREDENTIALS["region_name"], expires=expires).add_auth(request)
    parts = urlsplit(request.url)
    return urlunsplit(("wss", *parts[1:]))


def stream_params(**overrides) -> dict[str, str]:
    return {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000", **overrides}


@pytest.fixture(scope="module")
def tls(emulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(emulator.ca_file))


class Session:
    """What one WebSocket stream returned: decoded messages, the 101 headers, the close code."""

    def __init__(self):
        self.messages: list[tuple[dict, dict]] = []  # (headers, JSON payload)
        self.headers = {}
        self.close_code: int | None = None

    def results(self) -> list[dict]:
        out = []
        for headers, payload in self.messages:
            if headers.get(":event-type") == "TranscriptEvent":
                out.extend(payload["Transcript"]["Results"])
        return out

    def final_text(self) -> str:
        return " ".join(r["Alternatives"][0]["Transcript"] for r in self.results() if not r["IsPartial"])

    def exceptions(self) -> list[tuple[str, str]]:
        return [
            (h[":exception-type"], p["Message"]) for h, p in self.messages if h.get(":message-type") == "exception"
        ]


async def _stream(url: str, tls: ssl.SSLContext, frames: list[bytes], pace: float) -> Session:
    session = Session()
    async with connect(url, ssl=tls, max_size=None, open_timeout=30, close_timeout=10) as ws:
        session.headers = ws.response.headers
        parser = EventStreamBuffer()

        async def sender():
            try:
                for frame in frames:
                    await ws.send(frame)
                    if pace:
                        await asyncio.sleep(pace)
            except ConnectionClosed:  # the server ended the stream early (an error)
                pass

        sending = asyncio.create_task(sender())
        try:
            async for data in ws:
                parser.add_data(data)
                for message in parser:
                    session.messages.append((message.headers, json.loads(message.payload or b"{}")))
        except ConnectionClosed:
            pass
        sending.cancel()
        session.close_code = ws.close_code
    return session


def audio_frames(path: Path, end: bytes | None = None) -> list[bytes]:
    """AudioEvent frames of CHUNK_SECONDS of s16le 16 kHz mono, then the end-of-stream frame."""
    pcm = path.read_bytes()
    size = int(16000 * CHUNK_SECONDS) * 2
    frames = [encode_message(AUDIO_HEADERS, pcm[i : i + size]) for i in range(0, len(pcm), size)]
    return [*frames, encode_message(AUDIO_HEADERS, b"") if end is None else end]


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, STREAM_TIMEOUT))


def test_stream_transcribes_speech_with_partial_results(emulator, pcm, tls):
    item = "librivox_0870"
    session = run(_stream(presign(emulator, stream_params()), tls, audio_frames(pcm(item)), CHUNK_SECONDS))

    assert session.headers["x-amzn-transcribe-session-id"]
    assert session.headers["x-amzn-transcribe-language-code"] == "en-US"
    assert session.headers["x-amzn-request-id"]
    assert session.exceptions() == []
    results = session.results()
    finals = [r for r in results if not r["IsPartial"]]
    partials = [r for r in results if r["IsPartial"]]
    assert finals and partials
    assert {r["ResultId"] for r in partials} <= {r["ResultId"] for r in finals}
    for result in finals:  # AWS result shape (digest §5.6)
        assert result["EndTime"] >= result["StartTime"] >= 0
        items = result["Alternatives"][0]["Items"]
        assert items and all(i["Type"] in ("pronunciation", "punctuation") for i in items)
    reference = manifest()[item]["text"]
    assert wer(reference, session.final_text()) <= MAX_WER, (reference, session.final_text())
    assert session.close_code == 1000  # the server closed after its grace time: we never did


def test_bad_signature_is_refused_before_the_upgrade(emulator, tls):
    url = presign(emulator, stream_params(), secret_key="not-the-secret")
    with pytest.raises(InvalidStatus) as refused:
        run(_stream(url, tls, [], 0))
    response = refused.value.response
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert "signature we calculated does not match" in json.loads(response.body)["Message"]


def test_expired_url_is_refused_before_the_upgrade(emulator, tls, monkeypatch):
    ten_minutes_ago = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda **_: ten_minutes_ago)
    url = presign(emulator, stream_params())
    monkeypatch.undo()
    with pytest.raises(InvalidStatus) as refused:
        run(_stream(url, tls, [], 0))
    response = refused.value.response
    assert response.status_code == 403
    assert json.loads(response.body)["Message"].startswith("Signature expired")


def test_expires_over_300_seconds_is_refused(emulator, tls):
    with pytest.raises(InvalidStatus) as refused:
        run(_stream(presign(emulator, stream_params(), expires=301), tls, [], 0))
    assert refused.value.response.status_code == 403
    assert "300 seconds" in json.loads(refused.value.response.body)["Message"]


def test_invalid_setting_is_an_exception_frame(emulator, tls):
    session = run(_stream(presign(emulator, stream_params(**{"sample-rate": "1000"})), tls, [], 0))
    [(kind, message)] = session.exceptions()
    assert kind == "BadRequestException"
    assert "'mediaSampleRateHertz'" in message
    assert session.close_code == 1000


def test_malformed_frame_ends_the_stream_and_the_server_keeps_serving(emulator, pcm, tls):
    frames = audio_frames(pcm("sb_spk1_snt1"))
    broken = frames[0][:-4] + b"\x00\x00\x00\x00"  # message CRC wrong
    session = run(_stream(presign(emulator, stream_params()), tls, [frames[0], broken, *frames[1:]], 0))
    [(kind, message)] = session.exceptions()
    assert kind == "BadRequestException"
    assert "checksum" in message
    assert session.close_code == 1000

    # The next stream, over a new connection, is served as usual; a zero-length frame ends it.
    item = "sb_spk1_snt1"
    following = run(_stream(presign(emulator, stream_params()), tls, audio_frames(pcm(item), end=b""), 0))
    assert following.exceptions() == []
    assert wer(manifest()[item]["text"], following.final_text()) <= MAX_WER


@pytest.mark.parametrize("encoding", ["flac", "ogg-opus"])
def test_pcm_declared_as_a_container_encoding_is_a_bad_request(emulator, pcm, tls, encoding):
    params = stream_params(**{"media-encoding": encoding, "sample-rate": "48000" if encoding == "ogg-opus" else "16000"})
    session = run(_stream(presign(emulator, params), tls, audio_frames(pcm("sb_spk1_snt1")), 0))

    [(kind, message)] = session.exceptions()
    assert kind == "BadRequestException"
    assert message.startswith(f"The audio couldn't be decoded as {encoding} at ")
    assert session.results() == []
    assert session.close_code == 1000


def test_medical_stream(emulator, pcm, tls):
    item = "sb_spk2_snt4"
    params = stream_params(specialty="PRIMARYCARE", type="DICTATION")
    url = presign(emulator, params, path=MEDICAL_PATH)
    session = run(_stream(url, tls, audio_frames(pcm(item)), 0))
    assert session.exceptions() == []
    assert session.headers["x-amzn-transcribe-specialty"] == "PRIMARYCARE"
    assert wer(manifest()[item]["text"], session.final_text()) <= MAX_WER
