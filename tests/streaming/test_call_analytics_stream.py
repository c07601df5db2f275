"""StartCallAnalyticsStreamTranscription against the session's emulator: the AWS SDK for
JavaScript v3 (StartCallAnalyticsStreamTranscriptionCommand, unmodified) over HTTP/2, and the
Python WebSocket client of test_websocket_python over the presigned WebSocket path.

The call: two shared clips as a stereo call (tests/support.py write_wav), the agent's on channel
0 and the customer's on channel 1 a second after the agent stops, streamed at real-time pace.
One REAL_TIME category (created with boto3 before the stream) matches a phrase of the agent;
PostCallAnalyticsSettings asks for the post-call output, which a Call Analytics job named after
the session id writes to S3 after the stream.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time

import av
import numpy as np
import pytest

from emulator.aws.eventstream import encode_message
from emulator.engine.media import SAMPLE_RATE, decode
from tests.streaming import test_node_clients, test_websocket_python
from tests.streaming.conftest import write_pcm
from tests.streaming.test_node_clients import CLIENT_TIMEOUT, NODE_DIR
from tests.streaming.test_websocket_python import AUDIO_HEADERS, _stream, presign, run
from tests.support import audio_path, manifest, speak, voiced_span, wait_for_job, wer, write_wav

node_client = test_node_clients.node_client  # the fixtures of those modules, shared here
tls = test_websocket_python.tls

AGENT_ITEM, CUSTOMER_ITEM = "ls_61-70968-0000", "sb_spk2_snt1"
CATEGORY = "wizard-complaint"
PHRASE = "confused complaint"  # said by the agent (AGENT_ITEM)
OUTPUT_BUCKET = "call-analytics-stream-output"
MAX_WER = 0.25  # tiny.en streaming on short clips, as the other streaming tests
WS_PATH = "/call-analytics-stream-transcription-websocket"
CONFIGURATION_HEADERS = {
    ":message-type": "event", ":event-type": "ConfigurationEvent", ":content-type": "application/json",
}
CHANNELS = [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "CUSTOMER"}]


@pytest.fixture(scope="module")
def call(tmp_path_factory):
    """(stereo s16le path, {role: (speech start, speech end) in seconds}) of the call."""
    folder = tmp_path_factory.mktemp("call-stream")
    clips = {}
    for role, item in (("AGENT", AGENT_ITEM), ("CUSTOMER", CUSTOMER_ITEM)):
        samples = decode(audio_path(item))
        first, last = voiced_span(samples, SAMPLE_RATE)
        clips[role] = samples[first:last]
    agent_start = 0.3
    customer_start = agent_start + len(clips["AGENT"]) / SAMPLE_RATE + 1.0
    total = int((customer_start + len(clips["CUSTOMER"]) / SAMPLE_RATE + 1.5) * SAMPLE_RATE)
    stereo = np.zeros((total, 2), dtype=np.float32)
    spans = {}
    for channel, (role, start) in enumerate((("AGENT", agent_start), ("CUSTOMER", customer_start))):
        begin = int(start * SAMPLE_RATE)
        stereo[begin : begin + len(clips[role]), channel] = clips[role]
        spans[role] = (start, start + len(clips[role]) / SAMPLE_RATE)
    write_wav(folder / "call.wav", stereo, SAMPLE_RATE)  # kept beside the PCM for a look by hand
    return write_pcm(stereo.T, folder / "call.s16le"), spans


@pytest.fixture(scope="module")
def categories(transcribe):
    rules = [{"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": [PHRASE], "ParticipantRole": "AGENT"}}]
    transcribe.create_call_analytics_category(CategoryName=CATEGORY, Rules=rules, InputType="REAL_TIME")
    never = [{"TranscriptFilter": {"TranscriptFilterType": "EXACT", "Targets": ["refund please"]}}]
    transcribe.create_call_analytics_category(CategoryName="refund-request", Rules=never, InputType="REAL_TIME")
    transcribe.create_call_analytics_category(CategoryName="post-call-only", Rules=rules)  # POST_CALL
    return CATEGORY


@pytest.fixture(scope="module")
def sdk_stream(emulator, s3, call, categories, node_client):
    """The JS SDK's stream of the call with PostCallAnalyticsSettings: its JSON lines."""
    s3.create_bucket(Bucket=OUTPUT_BUCKET)
    path, _ = call
    return node_client(
        "call_analytics_client.mjs", "--endpoint", emulator.endpoint, "--audio", str(path),
        "--output-location", f"s3://{OUTPUT_BUCKET}/post-call/",
    )


def utterances(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["event"] == "UtteranceEvent"]


def final_text(lines: list[dict], role: str) -> str:
    return " ".join(u["Transcript"] for u in utterances(lines) if not u["IsPartial"] and u["ParticipantRole"] == role)


def test_utterances_by_role_partial_then_final(sdk_stream, call):
    lines = sdk_stream
    assert lines[-1]["event"] == "end", lines[-1]
    assert lines[-1]["SessionId"] and lines[-1]["LanguageCode"] == "en-US"
    events = utterances(lines)
    finals = [u for u in events if not u["IsPartial"]]
    partials = [u for u in events if u["IsPartial"]]
    assert partials and finals
    assert {u["UtteranceId"] for u in partials} <= {u["UtteranceId"] for u in finals}
    for role, item in (("AGENT", AGENT_ITEM), ("CUSTOMER", CUSTOMER_ITEM)):
        reference, hypothesis = manifest()[item]["text"], final_text(lines, role)
        assert wer(reference, hypothesis) <= MAX_WER, (role, reference, hypothesis)
    _, spans = call
    for utterance in finals:  # UtteranceEvent shape (JS SDK schema), times in milliseconds
        start, end = spans[utterance["ParticipantRole"]]
        assert start * 1000 - 500 <= utterance["BeginOffsetMillis"] < utterance["EndOffsetMillis"] <= end * 1000 + 800
        assert utterance["Sentiment"] in ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
        assert isinstance(utterance["IssuesDetected"], list)
        words = [i for i in utterance["Items"] if i["Type"] == "pronunciation"]
        assert words and all(0 < w["Confidence"] <= 1 and w["EndOffsetMillis"] >= w["BeginOffsetMillis"] for w in words)
    assert all("Sentiment" not in u for u in partials)


def test_real_time_category_matched_on_the_agents_phrase(sdk_stream, call):
    events = [line for line in sdk_stream if line["event"] == "CategoryEvent"]
    assert [e["MatchedCategories"] for e in events] == [[CATEGORY]], events
    (found,) = events[0]["MatchedDetails"][PHRASE]["TimestampRanges"]
    start, end = call[1]["AGENT"]
    assert start * 1000 - 500 < found["BeginOffsetMillis"] < found["EndOffsetMillis"] < end * 1000 + 500


def test_post_call_output_written_to_the_output_location(sdk_stream, transcribe, s3):
    session_id = sdk_stream[-1]["SessionId"]
    deadline = time.monotonic() + 60  # the job starts once the WAV is written, after the stream
    while time.monotonic() < deadline:
        try:
            transcribe.get_call_analytics_job(CallAnalyticsJobName=session_id)
            break
        except transcribe.exceptions.BadRequestException:  # not yet started: AWS's not-found of jobs
            time.sleep(0.5)
    job = wait_for_job(transcribe, session_id, timeout=300, noun="CallAnalyticsJob")
    assert job["CallAnalyticsJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Media"]["MediaFileUri"] == f"s3://{OUTPUT_BUCKET}/post-call/{session_id}.wav"
    assert job["DataAccessRoleArn"].endswith(":role/TranscribeAnalytics")
    wav = s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"post-call/{session_id}.wav")["Body"].read()
    assert wav[:4] == b"RIFF" and int.from_bytes(wav[22:24], "little") == 2  # stereo WAV
    output = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"post-call/{session_id}.json")["Body"].read())
    roles = {turn["ParticipantRole"] for turn in output["Transcript"]}
    assert roles == {"AGENT", "CUSTOMER"}
    agent = " ".join(t["Content"] for t in output["Transcript"] if t["ParticipantRole"] == "AGENT")
    assert wer(manifest()[AGENT_ITEM]["text"], agent) <= MAX_WER
    assert "post-call-only" in output["Categories"]["MatchedCategories"]
    assert CATEGORY not in output["Categories"]["MatchedCategories"]  # REAL_TIME: streams only


def test_http2_audio_before_the_configuration_event_is_refused(emulator, call, node_client):
    """The SDK raises the exception frame as BadRequestException (the script exits with 3)."""
    command = [
        shutil.which("node"), str(NODE_DIR / "call_analytics_client.mjs"), "--endpoint", emulator.endpoint,
        "--audio", str(call[0]), "--no-configuration", "--speed", "0",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
    assert done.returncode == 3, (done.stdout, done.stderr)
    error = json.loads(done.stdout.splitlines()[-1])
    assert error["event"] == "error" and error["name"] == "BadRequestException", error
    assert "must start with a ConfigurationEvent" in error["message"]


# --- WebSocket ------------------------------------------------------------------------------


def ws_frames(path, configuration: dict | None) -> list[bytes]:
    """The ConfigurationEvent frame (when given), AudioEvent frames of 100 ms of stereo, the end."""
    frames = [encode_message(CONFIGURATION_HEADERS, json.dumps(configuration).encode())] if configuration else []
    pcm = path.read_bytes()
    size = 1600 * 2 * 2
    frames += [encode_message(AUDIO_HEADERS, pcm[i : i + size]) for i in range(0, len(pcm), size)]
    return [*frames, encode_message(AUDIO_HEADERS, b"")]


def ws_params(**overrides) -> dict[str, str]:
    return {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000", **overrides}


def test_websocket_stream_with_roles_swapped(emulator, call, tls):
    """The agent on channel 1 this time: the roles follow the ChannelDefinitions."""
    swapped = [{"ChannelId": 1, "ParticipantRole": "AGENT"}, {"ChannelId": 0, "ParticipantRole": "CUSTOMER"}]
    url = presign(emulator, ws_params(), path=WS_PATH)
    session = run(_stream(url, tls, ws_frames(call[0], {"ChannelDefinitions": swapped}), 0))
    assert session.headers["x-amzn-transcribe-session-id"]
    assert "x-amzn-transcribe-number-of-channels" not in session.headers
    assert session.exceptions() == []
    finals = [p for h, p in session.messages if h[":event-type"] == "UtteranceEvent" and not p["IsPartial"]]
    by_role = {
        role: " ".join(u["Transcript"] for u in finals if u["ParticipantRole"] == role)
        for role in ("AGENT", "CUSTOMER")
    }
    assert wer(manifest()[AGENT_ITEM]["text"], by_role["CUSTOMER"]) <= MAX_WER, by_role  # channel 0
    assert wer(manifest()[CUSTOMER_ITEM]["text"], by_role["AGENT"]) <= MAX_WER, by_role  # channel 1
    assert all("Sentiment" in u for u in finals)


def test_websocket_bad_channel_definitions_are_an_exception_frame(emulator, call, tls):
    same_role = [{"ChannelId": 0, "ParticipantRole": "AGENT"}, {"ChannelId": 1, "ParticipantRole": "AGENT"}]
    url = presign(emulator, ws_params(), path=WS_PATH)
    session = run(_stream(url, tls, ws_frames(call[0], {"ChannelDefinitions": same_role})[:3], 0))
    [(kind, message)] = session.exceptions()
    assert kind == "BadRequestException"
    assert message.startswith("ChannelDefinitions must define channel 0 and channel 1")
    assert session.close_code == 1000


def flac_bytes(stereo: np.ndarray) -> bytes:
    """float32 (2, n) at 16 kHz -> a FLAC stream (PyAV)."""
    out = io.BytesIO()
    with av.open(out, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray((np.clip(stereo, -1, 1) * 32767).astype("<i2").T.reshape(1, -1),
                                           format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


def test_websocket_flac_with_pii_redaction(emulator, tls, tmp_path):
    """FLAC audio, PII redaction of names: the agent's name is [PII] in the final utterance,
    with its Entity; the customer's channel is silence."""
    agent = decode(speak(tmp_path, "Hello, my name is John Smith. How can I help you today?"))
    stereo = np.zeros((2, len(agent) + 2 * SAMPLE_RATE), dtype=np.float32)
    stereo[0, SAMPLE_RATE // 2 : SAMPLE_RATE // 2 + len(agent)] = agent
    audio = flac_bytes(stereo)
    frames = [encode_message(CONFIGURATION_HEADERS, json.dumps({"ChannelDefinitions": CHANNELS}).encode())]
    frames += [encode_message(AUDIO_HEADERS, audio[i : i + 4096]) for i in range(0, len(audio), 4096)]
    frames.append(encode_message(AUDIO_HEADERS, b""))
    params = ws_params(**{"media-encoding": "flac", "content-redaction-type": "PII", "pii-entity-types": "NAME"})
    session = run(_stream(presign(emulator, params, path=WS_PATH), tls, frames, 0))
    assert session.exceptions() == []
    assert session.headers["x-amzn-transcribe-content-redaction-type"] == "PII"
    finals = [p for h, p in session.messages if h[":event-type"] == "UtteranceEvent" and not p["IsPartial"]]
    assert {u["ParticipantRole"] for u in finals} == {"AGENT"}
    text = " ".join(u["Transcript"] for u in finals)
    assert "[PII]" in text and "Smith" not in text, text
    entities = [e for u in finals for e in u["Entities"]]
    assert entities and all(e["Category"] == "PII" and e["Type"] == "NAME" for e in entities), entities
