"""AWS HealthScribe streaming with the AWS SDK for JavaScript v3 (unmodified) over HTTP/2 (h2c):
StartMedicalScribeStream on a two-channel visit built from shared speech (clinician on channel
0, patient on channel 1, taking turns), GetMedicalScribeStream until the post-stream analytics
end, the transcript and clinical note in S3; a paused and resumed mono session; the errors.

The script is tests/streaming/node/scribe_client.mjs (JSON lines, see its header).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from emulator.engine.media import SAMPLE_RATE, decode
from tests.streaming.conftest import write_pcm
from tests.streaming.test_node_clients import CLIENT_TIMEOUT, MAX_WER, NODE_DIR
from tests.support import EmulatorProcess, audio_path, manifest, voiced_span, wer

BUCKET = "scribe-stream-output"
GAP = 1.0  # s of silence between turns (the engine's endpointing needs a pause)
# (role, item): clinician and patient take turns; two voices of the shared audio.
VISIT = [
    ("CLINICIAN", "sb_spk1_snt1"),  # "The child almost hurt the small dog."
    ("PATIENT", "sb_spk2_snt4"),  # "Mend the coat before you go out."
    ("CLINICIAN", "sb_spk1_snt3"),  # "At that high level the air is pure."
    ("PATIENT", "sb_spk2_snt1"),  # "We are sure that one war is enough."
]
CHANNEL = {"CLINICIAN": 0, "PATIENT": 1}


def build_visit(folder: Path, turns: list[tuple[str, str]], stereo: bool) -> tuple[Path, float, list[tuple]]:
    """s16le PCM of the turns one after the other (GAP apart, 0.5 s lead-in): each role on its
    channel (stereo) or all on one; -> (path, duration in s, [(role, item, start s, end s)])."""
    clips = []
    for role, item in turns:
        samples = decode(audio_path(item))
        first, last = voiced_span(samples, SAMPLE_RATE)
        clips.append((role, samples[first:last]))
    total = int((0.5 + sum(len(c) / SAMPLE_RATE + GAP for _, c in clips) + 1.0) * SAMPLE_RATE)
    audio = np.zeros((2 if stereo else 1, total), dtype=np.float32)
    at, spans = int(0.5 * SAMPLE_RATE), []
    for (role, samples), (_, item) in zip(clips, turns):
        audio[CHANNEL[role] if stereo else 0, at : at + len(samples)] = samples
        spans.append((role, item, at / SAMPLE_RATE, (at + len(samples)) / SAMPLE_RATE))
        at += len(samples) + int(GAP * SAMPLE_RATE)
    name = "-".join(item for _, item in turns) + ("-2" if stereo else "-1")
    return write_pcm(audio if stereo else audio[0], folder / f"{name}.pcm"), total / SAMPLE_RATE, spans


def scribe(emulator, *args: str, ok: bool = True, tls: bool = False) -> list[dict]:
    """scribe_client.mjs against the API port (h2c), or the HTTPS port (TLS + ALPN h2, the
    emulator's CA trusted) with tls; its JSON lines. ok: expect success (else the SDK's error,
    exit code 3)."""
    endpoint = emulator.https_endpoint if tls else emulator.endpoint
    command = ["node", str(NODE_DIR / "scribe_client.mjs"), "--endpoint", endpoint, "--bucket", BUCKET, *args]
    if "--audio" not in args:
        command += ["--audio", "/dev/null"]
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(emulator.ca_file)} if tls else None
    proc = subprocess.run(command, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, env=env)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no output ({proc.returncode}):\n{proc.stderr[-3000:]}"
    assert (proc.returncode == 0) == ok, f"{proc.returncode}: {lines[-3:]}\n{proc.stderr[-2000:]}"
    return lines


def segments(lines: list[dict]) -> list[dict]:
    return [line["segment"] for line in lines if line["event"] == "TranscriptEvent"]


def details(lines: list[dict]) -> dict:
    return next(line["details"] for line in lines if line["event"] == "details")


@pytest.fixture(scope="module")
def node_sdk():
    """Node.js with the suite's JS SDK installed (npm ci, as test_node_clients does), or a skip."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed: the JS SDK client cannot run")
    if not (NODE_DIR / "node_modules" / "@aws-sdk" / "client-transcribe-streaming").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=600)


@pytest.fixture(scope="module")
def visit(emulator, s3, node_sdk, tmp_path_factory):
    """(client lines, transcript file, clinical note): one stereo session with END_OF_SESSION,
    polled until its analytics ended."""
    s3.create_bucket(Bucket=BUCKET)
    path, _, _ = build_visit(tmp_path_factory.mktemp("scribe"), VISIT, stereo=True)
    lines = scribe(emulator, "--audio", str(path), "--channels", "2", "--channel-definitions", "--poll")
    result = details(lines)["PostStreamAnalyticsResult"]["ClinicalNoteGenerationResult"]
    assert result["Status"] == "COMPLETED", result

    def read(uri: str) -> dict:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    return lines, read(result["TranscriptOutputLocation"]), read(result["ClinicalNoteOutputLocation"])


def test_segments_stream_per_channel(visit):
    lines, _, _ = visit
    end = lines[-1]
    assert end["event"] == "end" and end["LanguageCode"] == "en-US" and end["MediaSampleRateHertz"] == 16000
    assert end["MediaEncoding"] == "pcm" and end["SessionId"] and end["RequestId"]
    found = segments(lines)
    finals = [s for s in found if not s["IsPartial"]]
    assert any(s["IsPartial"] for s in found), "no partial segment"
    assert {s["SegmentId"] for s in found if s["IsPartial"]} <= {s["SegmentId"] for s in finals}
    for segment in finals:
        assert segment["ChannelId"] in ("ch_0", "ch_1")
        assert 0 <= segment["BeginAudioTime"] <= segment["EndAudioTime"]
        words = [i for i in segment["Items"] if i["Type"] == "pronunciation"]
        assert words and all(0 <= w["Confidence"] <= 1 for w in words)
        assert segment["BeginAudioTime"] <= words[0]["BeginAudioTime"] + 0.01
    refs = manifest()
    for role, channel in CHANNEL.items():
        reference = " ".join(refs[item]["text"] for r, item in VISIT if r == role)
        hypothesis = " ".join(s["Content"] for s in finals if s["ChannelId"] == f"ch_{channel}")
        assert wer(reference, hypothesis) <= MAX_WER, (role, reference, hypothesis)


def test_get_stream_shows_the_completed_session(visit):
    lines, _, _ = visit
    found = details(lines)
    assert found["SessionId"] == lines[-1]["SessionId"]
    assert found["StreamStatus"] == "COMPLETED"
    assert found["LanguageCode"] == "en-US" and found["MediaSampleRateHertz"] == 16000
    assert found["MediaEncoding"] == "pcm"
    assert found["StreamCreatedAt"] <= found["StreamEndedAt"]  # ISO strings of the SDK's Dates
    assert found["ResourceAccessRoleArn"] == "arn:aws:iam::123456789012:role/healthscribe-stream"
    assert found["ChannelDefinitions"] == [
        {"ChannelId": 0, "ParticipantRole": "CLINICIAN"},
        {"ChannelId": 1, "ParticipantRole": "PATIENT"},
    ]
    assert found["EncryptionSettings"] == {"KmsKeyId": "alias/healthscribe-test"}
    assert found["PostStreamAnalyticsSettings"] == {"ClinicalNoteGenerationSettings": {"OutputBucketName": BUCKET}}
    assert found["MedicalScribeContextProvided"] is True
    result = found["PostStreamAnalyticsResult"]["ClinicalNoteGenerationResult"]
    prefix = f"s3://{BUCKET}/healthscribe-streaming/{found['SessionId']}/post-stream-analytics/clinical-notes/"
    assert result["TranscriptOutputLocation"] == prefix + "transcript.json"
    assert result["ClinicalNoteOutputLocation"] == prefix + "summary.json"


def test_get_stream_over_tls(emulator, visit):
    lines, _, _ = visit
    found = details(scribe(emulator, "--get", lines[-1]["SessionId"], tls=True))
    assert found["StreamStatus"] == "COMPLETED" and found["SessionId"] == lines[-1]["SessionId"]


def test_transcript_file_keeps_the_streamed_segments(visit):
    lines, transcript, _ = visit
    conversation = transcript["Conversation"]
    assert conversation["SessionId"] == lines[-1]["SessionId"] and conversation["LanguageCode"] == "en-US"
    streamed = {s["SegmentId"]: s for s in segments(lines) if not s["IsPartial"]}
    written = conversation["TranscriptSegments"]
    assert written and {s["SegmentId"] for s in written} <= set(streamed)
    for segment in written:
        role = segment["ParticipantDetails"]["ParticipantRole"]
        assert role == {"ch_0": "CLINICIAN_0", "ch_1": "PATIENT_0"}[streamed[segment["SegmentId"]]["ChannelId"]]
        assert segment["Content"] == streamed[segment["SegmentId"]]["Content"]
    items = conversation["TranscriptItems"]
    assert {i["Type"] for i in items} <= {"PRONUNCIATION", "PUNCTUATION"}
    assert len([i for i in items if i["Type"] == "PRONUNCIATION"]) >= 20


def test_clinical_note_cites_real_segments(visit):
    _, transcript, note = visit
    contents = {s["SegmentId"]: s["Content"] for s in transcript["Conversation"]["TranscriptSegments"]}
    documentation = note["ClinicalDocumentation"]
    assert documentation["SessionId"] == transcript["Conversation"]["SessionId"]
    entries = [e for section in documentation["Sections"] for e in section["Summary"]]
    assert entries, "nothing of the visit made it into the note"
    for entry in entries:
        for link in entry["EvidenceLinks"]:
            assert entry["SummarizedSegment"] in contents[link["SegmentId"]]
    hurt = [e for s in documentation["Sections"] if s["SectionName"] == "CHIEF_COMPLAINT" for e in s["Summary"]]
    assert hurt and "hurt" in hurt[0]["SummarizedSegment"].lower()


def test_resume_a_paused_session(emulator, visit, tmp_path):
    """A mono session (roles from speaker labels) streams one turn and ends its input without
    END_OF_SESSION (PAUSED), resumes with the same session id for the next turn, then ends."""
    session_id = str(uuid.uuid4())
    first, first_seconds, _ = build_visit(tmp_path, [("CLINICIAN", "sb_spk1_snt2")], stereo=False)
    second, _, _ = build_visit(tmp_path, [("PATIENT", "sb_spk2_snt2")], stereo=False)
    paused = scribe(emulator, "--audio", str(first), "--session-id", session_id, "--no-end")
    assert [s for s in segments(paused) if not s["IsPartial"]], paused
    assert details(scribe(emulator, "--get", session_id))["StreamStatus"] == "PAUSED"
    resumed = scribe(emulator, "--audio", str(second), "--session-id", session_id, "--poll")
    found = details(resumed)
    assert found["StreamStatus"] == "COMPLETED" and "ChannelDefinitions" not in found
    assert found["PostStreamAnalyticsResult"]["ClinicalNoteGenerationResult"]["Status"] == "COMPLETED"
    later = [s for s in segments(resumed) if not s["IsPartial"]]
    assert later and all("ChannelId" not in s for s in later)
    assert min(s["BeginAudioTime"] for s in later) >= first_seconds  # the session's timeline goes on
    text = " ".join(s["Content"] for s in segments(paused) + later if not s["IsPartial"]).lower()
    assert "drop" in text and "joy" in text, text
    # An ended session can't be resumed.
    refused = scribe(emulator, "--audio", str(second), "--session-id", session_id, ok=False)
    assert refused[-1]["name"] == "BadRequestException" and "can't be resumed" in refused[-1]["message"]


def test_configuration_event_must_come_first(emulator, visit, tmp_path):
    audio, _, _ = build_visit(tmp_path, [("CLINICIAN", "sb_spk1_snt4")], stereo=False)
    lines = scribe(emulator, "--audio", str(audio), "--audio-first", "--speed", "0", ok=False)
    assert lines[-1]["name"] == "BadRequestException"
    assert "MedicalScribeConfigurationEvent" in lines[-1]["message"]


def test_unknown_session_is_not_found(emulator, visit):
    lines = scribe(emulator, "--get", str(uuid.uuid4()), ok=False)
    assert lines[-1]["name"] == "ResourceNotFoundException" and lines[-1]["httpStatusCode"] == 404


def test_language_must_be_en_us(emulator, visit):
    lines = scribe(emulator, "--language-code", "en-GB", "--audio", "/dev/null", ok=False)
    assert lines[-1]["httpStatusCode"] == 400 and "[en-US]" in lines[-1]["message"], lines[-1]


def test_analytics_fail_without_the_output_bucket(emulator, visit, tmp_path):
    audio, _, _ = build_visit(tmp_path, [("CLINICIAN", "sb_spk1_snt5")], stereo=False)
    lines = scribe(emulator, "--audio", str(audio), "--bucket", "no-such-scribe-bucket", "--poll")
    found = details(lines)
    assert found["StreamStatus"] == "COMPLETED"
    result = found["PostStreamAnalyticsResult"]["ClinicalNoteGenerationResult"]
    assert result["Status"] == "FAILED" and "no-such-scribe-bucket" in result["FailureReason"]
    assert "TranscriptOutputLocation" not in result


def test_sessions_survive_a_restart(node_sdk, tmp_path):
    """A PAUSED session, its settings and the segments it streamed outlive the process: after a
    restart GetMedicalScribeStream finds it and a resumed stream completes it."""
    session_id = str(uuid.uuid4())
    first, _, _ = build_visit(tmp_path, [("CLINICIAN", "sb_spk1_snt2")], stereo=False)
    second, _, _ = build_visit(tmp_path, [("PATIENT", "sb_spk2_snt3")], stereo=False)
    data_dir = tmp_path / "data"
    before = EmulatorProcess(data_dir).start()
    try:
        before.s3().create_bucket(Bucket=BUCKET)
        scribe(before, "--audio", str(first), "--session-id", session_id, "--no-end", "--template", "DAP")
    finally:
        before.stop()
    after = EmulatorProcess(data_dir).start()
    try:
        found = details(scribe(after, "--get", session_id))
        assert found["StreamStatus"] == "PAUSED" and "StreamEndedAt" not in found
        assert found["PostStreamAnalyticsSettings"]["ClinicalNoteGenerationSettings"]["NoteTemplate"] == "DAP"
        lines = scribe(after, "--audio", str(second), "--session-id", session_id, "--template", "DAP", "--poll")
        result = details(lines)["PostStreamAnalyticsResult"]["ClinicalNoteGenerationResult"]
        assert result["Status"] == "COMPLETED", result
        bucket, key = result["TranscriptOutputLocation"].removeprefix("s3://").split("/", 1)
        transcript = json.loads(after.s3().get_object(Bucket=bucket, Key=key)["Body"].read())
        text = " ".join(s["Content"] for s in transcript["Conversation"]["TranscriptSegments"]).lower()
        assert "drop" in text and "thin sheet" in text, text  # both connections' words
    finally:
        after.stop()


def test_unknown_vocabulary_filter_ends_the_stream(emulator, visit, tmp_path):
    """Resources named by the configuration event are checked when it arrives: an exception
    event after the 200 response, and no session is kept."""
    audio, _, _ = build_visit(tmp_path, [("CLINICIAN", "sb_spk1_snt4")], stereo=False)
    session_id = str(uuid.uuid4())
    lines = scribe(
        emulator, "--audio", str(audio), "--session-id", session_id, "--vocabulary-filter", "no-such-filter",
        "--speed", "0", ok=False,
    )
    assert lines[-1]["name"] == "BadRequestException" and "vocabulary filter" in lines[-1]["message"], lines[-1]
    assert scribe(emulator, "--get", session_id, ok=False)[-1]["name"] == "ResourceNotFoundException"


def test_a_dropped_connection_pauses_the_session(emulator, visit, tmp_path):
    """The client process dies 2 s into its 8 s of audio (before END_OF_SESSION): the session is
    PAUSED, not ended, and no analytics run."""
    audio, _, _ = build_visit(tmp_path, [("CLINICIAN", "sb_spk1_snt2"), ("PATIENT", "sb_spk2_snt5")], stereo=False)
    session_id = str(uuid.uuid4())
    command = ["node", str(NODE_DIR / "scribe_client.mjs"), "--endpoint", emulator.endpoint, "--bucket", BUCKET,
               "--audio", str(audio), "--session-id", session_id]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as client:
        for line in client.stdout:
            if line.startswith('{"event":"audio"'):  # the first AudioEvent went out
                time.sleep(2.0)
                client.kill()
                break
        else:
            pytest.fail("the client sent no audio")
    deadline = time.monotonic() + 60
    while (found := details(scribe(emulator, "--get", session_id)))["StreamStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the server never noticed the dropped connection"
        time.sleep(0.5)
    assert found["StreamStatus"] == "PAUSED" and "PostStreamAnalyticsResult" not in found
    assert "StreamEndedAt" not in found
