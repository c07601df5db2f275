"""AWS HealthScribe through boto3: one job on a stereo clinician/patient visit built from
espeak-ng speech (patient on channel 0, clinician on channel 1, so the roles come from
ChannelDefinitions and not from channel order), its two output files, List and Delete; and
Start's errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emulator.engine.media import SAMPLE_RATE, decode
from emulator.service.clinical_notes import TEMPLATES
from tests.support import speak, voiced_span, wait_for_job, write_wav

OUTPUT_BUCKET = "scribe-output"
ROLE_ARN = "arn:aws:iam::123456789012:role/healthscribe"
CHANNELS = {"PATIENT": 0, "CLINICIAN": 1}
GAP = 0.8  # s of silence between lines
SLACK = 0.6  # s: word timings against the voiced span of each clip
LINES = [
    ("CLINICIAN", "Good morning. What brings you in today?"),
    ("PATIENT", "I have had a bad cough and a fever for three days. I have no chest pain."),
    ("CLINICIAN", "Your lungs sound clear. I think this is a viral infection."),
    ("CLINICIAN", "I will prescribe a cough syrup. Take it twice a day and follow up next week."),
    ("PATIENT", "Okay, thank you doctor."),
]


def build_visit(tmp_path: Path) -> tuple[Path, list[tuple[str, float, float]]]:
    """The stereo WAV (one line after the other, GAP apart) and each line's (role, start, end)."""
    clips = []
    for i, (role, text) in enumerate(LINES):
        samples = decode(speak(tmp_path, text, f"line{i}.wav"))
        first, last = voiced_span(samples, SAMPLE_RATE)
        clips.append((role, samples[first:last]))
    spans, at = [], 0.5
    for role, samples in clips:
        spans.append((role, at, at + len(samples) / SAMPLE_RATE))
        at = spans[-1][2] + GAP
    stereo = np.zeros((int((at + 0.5) * SAMPLE_RATE), 2), dtype=np.float32)
    for (role, samples), (_, start, _) in zip(clips, spans):
        begin = int(start * SAMPLE_RATE)
        stereo[begin : begin + len(samples), CHANNELS[role]] = samples
    return write_wav(tmp_path / "visit.wav", stereo, SAMPLE_RATE), spans


def start_request(name: str, media_uri: str, **overrides) -> dict:
    request = {
        "MedicalScribeJobName": name,
        "Media": {"MediaFileUri": media_uri},
        "OutputBucketName": OUTPUT_BUCKET,
        "DataAccessRoleArn": ROLE_ARN,
        "Settings": {"ChannelIdentification": True},
        "ChannelDefinitions": [{"ChannelId": c, "ParticipantRole": r} for r, c in CHANNELS.items()],
    }
    request.update(overrides)
    return {k: v for k, v in request.items() if v is not None}  # None: leave the member out


@pytest.fixture(scope="module")
def visit(tmp_path_factory, transcribe, s3, upload):
    """(started job, finished job, transcript, clinical document, line spans, media URI): one job."""
    s3.create_bucket(Bucket=OUTPUT_BUCKET)
    path, spans = build_visit(tmp_path_factory.mktemp("visit"))
    uri = upload(path, "visit.wav")
    name = "clinic-visit"
    started = transcribe.start_medical_scribe_job(
        **start_request(
            name,
            uri,
            MedicalScribeContext={"PatientContext": {"Pronouns": "SHE_HER"}},
            Tags=[{"Key": "team", "Value": "scribe"}],
        )
    )["MedicalScribeJob"]
    job = wait_for_job(transcribe, name, 300, noun="MedicalScribeJob")
    assert job["MedicalScribeJobStatus"] == "COMPLETED", job.get("FailureReason")

    def read(key: str) -> dict:
        return json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read())

    return started, job, read(f"{name}/transcript.json"), read(f"{name}/summary.json"), spans, uri


def test_start_and_get_show_the_job(visit):
    started, job, *_ = visit
    assert started["MedicalScribeJobStatus"] in ("QUEUED", "IN_PROGRESS")
    assert started["LanguageCode"] == job["LanguageCode"] == "en-US"
    assert started["MedicalScribeContextProvided"] is True and job["MedicalScribeContextProvided"] is True
    assert job["DataAccessRoleArn"] == ROLE_ARN and job["Tags"] == [{"Key": "team", "Value": "scribe"}]
    assert job["Settings"] == {"ChannelIdentification": True}
    assert job["CompletionTime"] >= job["StartTime"] >= job["CreationTime"]
    output = job["MedicalScribeOutput"]
    assert output["TranscriptFileUri"].endswith(f"/{OUTPUT_BUCKET}/clinic-visit/transcript.json")
    assert output["ClinicalDocumentUri"].endswith(f"/{OUTPUT_BUCKET}/clinic-visit/summary.json")
    assert "Transcript" not in job


def test_transcript_roles_follow_the_channels(visit):
    _, _, transcript, _, spans, _ = visit
    conversation = transcript["Conversation"]
    assert conversation["JobName"] == "clinic-visit" and conversation["LanguageCode"] == "en-US"
    segments = conversation["TranscriptSegments"]
    assert {s["ParticipantDetails"]["ParticipantRole"] for s in segments} == {"CLINICIAN_0", "PATIENT_0"}
    for segment in segments:
        role = segment["ParticipantDetails"]["ParticipantRole"].removesuffix("_0")
        middle = (segment["BeginAudioTime"] + segment["EndAudioTime"]) / 2
        assert any(r == role and a - SLACK <= middle <= b + SLACK for r, a, b in spans), segment
        assert segment["SectionDetails"]["SectionName"] in ("SUBJECTIVE", "OBJECTIVE", "ASSESSMENT_AND_PLAN", "VISIT_FLOW_MANAGEMENT")
    patient = " ".join(s["Content"] for s in segments if s["ParticipantDetails"]["ParticipantRole"] == "PATIENT_0")
    assert "cough" in patient.lower() and "prescribe" not in patient.lower()
    items = conversation["TranscriptItems"]
    words = [i for i in items if i["Type"] == "PRONUNCIATION"]
    assert len(words) >= 40 and all(i["Type"] in ("PRONUNCIATION", "PUNCTUATION") for i in items)
    assert all(0 <= w["BeginAudioTime"] <= w["EndAudioTime"] for w in words)
    assert all(0 <= i["Alternatives"][0]["Confidence"] <= 1 for i in items)


def test_transcript_has_clinical_insights(visit):
    """ClinicalInsights: the entities of the segments, in AWS's shape, with offsets into each
    segment's Content (end inclusive, as AWS's example)."""
    _, _, transcript, _, _, _ = visit
    conversation = transcript["Conversation"]
    assert list(conversation) == ["ConversationId", "JobName", "JobType", "LanguageCode", "ClinicalInsights",
                                  "TranscriptItems", "TranscriptSegments"]
    content = {s["SegmentId"]: s["Content"] for s in conversation["TranscriptSegments"]}
    insights = conversation["ClinicalInsights"]
    for insight in insights:
        assert list(insight) == ["Attributes", "Category", "InsightId", "InsightType", "Spans", "Type"]
        assert insight["InsightType"] == "ClinicalEntity"
        for span in insight["Spans"] + [s for a in insight["Attributes"] for s in a["Spans"]]:
            text = content[span["SegmentId"]]
            assert text[span["BeginCharacterOffset"] : span["EndCharacterOffset"] + 1] == span["Content"]
    found = {(i["Category"], i["Type"], i["Spans"][0]["Content"].lower()) for i in insights}
    assert {("MEDICAL_CONDITION", "DX_NAME", "fever"), ("ANATOMY", "SYSTEM_ORGAN_SITE", "lungs"),
            ("MEDICAL_CONDITION", "DX_NAME", "viral infection")} <= found, found
    assert any(category == "MEDICATION" and "syrup" in text for category, _, text in found), found


def test_clinical_document_cites_real_segments(visit):
    _, _, transcript, document, _, _ = visit
    segments = {s["SegmentId"]: s for s in transcript["Conversation"]["TranscriptSegments"]}
    sections = document["ClinicalDocumentation"]["Sections"]
    assert [s["SectionName"] for s in sections] == [name for name, _ in TEMPLATES["HISTORY_AND_PHYSICAL"]]
    for section in sections:
        for entry in section["Summary"]:
            assert entry["EvidenceLinks"]
            for link in entry["EvidenceLinks"]:
                assert entry["SummarizedSegment"] in segments[link["SegmentId"]]["Content"]
    by_name = {s["SectionName"]: " ".join(e["SummarizedSegment"] for e in s["Summary"]).lower() for s in sections}
    assert "cough" in by_name["HISTORY_OF_PRESENT_ILLNESS"]
    assert "prescribe" in by_name["PLAN"] or "follow up" in by_name["PLAN"]
    assert "infection" in by_name["ASSESSMENT"]
    assert list(sections[0]["Summary"][0]) == ["EvidenceLinks", "SummarizedSegment"]


def test_tags_and_cbor_see_the_same_job(visit, transcribe, emulator):
    _, job, *_ = visit
    arn = "arn:aws:transcribe:us-east-1:000000000000:medical-scribe-job/clinic-visit"
    assert transcribe.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "scribe"}]
    cbor = emulator.transcribe(protocol="cbor")
    over_cbor = cbor.get_medical_scribe_job(MedicalScribeJobName="clinic-visit")["MedicalScribeJob"]
    assert {k: v for k, v in over_cbor.items() if k != "MedicalScribeOutput"} == {
        k: v for k, v in job.items() if k != "MedicalScribeOutput"
    }
    names = [s["MedicalScribeJobName"] for s in cbor.list_medical_scribe_jobs()["MedicalScribeJobSummaries"]]
    assert "clinic-visit" in names


def test_list_then_delete(visit, transcribe, s3):
    _, _, _, _, _, uri = visit
    listed = transcribe.list_medical_scribe_jobs(Status="COMPLETED", JobNameContains="clinic")
    assert listed["Status"] == "COMPLETED"
    (summary,) = [s for s in listed["MedicalScribeJobSummaries"] if s["MedicalScribeJobName"] == "clinic-visit"]
    assert summary["LanguageCode"] == "en-US" and summary["MedicalScribeJobStatus"] == "COMPLETED"
    with pytest.raises(transcribe.exceptions.ConflictException):
        transcribe.start_medical_scribe_job(**start_request("clinic-visit", uri))
    transcribe.delete_medical_scribe_job(MedicalScribeJobName="clinic-visit")
    with pytest.raises(transcribe.exceptions.BadRequestException, match="couldn't be found"):
        transcribe.get_medical_scribe_job(MedicalScribeJobName="clinic-visit")
    with pytest.raises(transcribe.exceptions.BadRequestException):
        transcribe.delete_medical_scribe_job(MedicalScribeJobName="clinic-visit")
    # The output files are the customer's objects: they stay.
    assert s3.head_object(Bucket=OUTPUT_BUCKET, Key="clinic-visit/summary.json")["ContentLength"] > 0


def test_speaker_labels_filter_and_soap_template(visit, transcribe, s3):
    """The same visit, mixed to mono by the job (no channel identification): speaker labels
    give the roles (the first speaker is the clinician), a "mask" filter hides "cough", and the
    PHYSICAL_SOAP template shapes the note."""
    *_, uri = visit
    transcribe.create_vocabulary_filter(VocabularyFilterName="scribe-filter", LanguageCode="en-US", Words=["cough"])
    settings = {
        "ShowSpeakerLabels": True,
        "MaxSpeakerLabels": 2,
        "VocabularyFilterName": "scribe-filter",
        "VocabularyFilterMethod": "mask",
        "ClinicalNoteGenerationSettings": {"NoteTemplate": "PHYSICAL_SOAP"},
    }
    name = "clinic-visit-mono"
    transcribe.start_medical_scribe_job(**start_request(name, uri, Settings=settings, ChannelDefinitions=None))
    job = wait_for_job(transcribe, name, 300, noun="MedicalScribeJob")
    assert job["MedicalScribeJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Settings"] == settings and job["MedicalScribeContextProvided"] is False
    conversation = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"{name}/transcript.json")["Body"].read())
    segments = conversation["Conversation"]["TranscriptSegments"]
    roles = [s["ParticipantDetails"]["ParticipantRole"] for s in segments]
    assert roles[0] == "CLINICIAN_0" and set(roles) <= {"CLINICIAN_0", "PATIENT_0"}
    text = " ".join(s["Content"] for s in segments).lower()
    assert "***" in text and "cough" not in text
    document = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"{name}/summary.json")["Body"].read())
    sections = document["ClinicalDocumentation"]["Sections"]
    assert [s["SectionName"] for s in sections] == ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"]
    ids = {s["SegmentId"]: s["Content"] for s in segments}
    assert all(e["SummarizedSegment"] in ids[link["SegmentId"]]
               for s in sections for e in s["Summary"] for link in e["EvidenceLinks"])
    transcribe.delete_medical_scribe_job(MedicalScribeJobName=name)


# Two voices (espeak-ng's default male voice and its "f4" variant, higher pitched) so that
# diarization can tell the speakers apart; (voice, text): the clinician first, then the patient.
CLINICIAN_LINES = [
    "Good morning. What brings you in today?",
    "Your lungs sound clear. I think this is a viral infection. I will prescribe a cough syrup.",
]
PATIENT_LINES = [
    "Hello doctor. I have had a bad cough and a fever for three days. My throat hurts.",
    "Okay, thank you doctor.",
]


def speak_voice(folder: Path, text: str, name: str, voice: str) -> np.ndarray:
    """`text` spoken by espeak-ng in `voice` (a variant of en-us), as samples at SAMPLE_RATE."""
    path = folder / name
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(path), text], check=True)
    samples = decode(path)
    first, last = voiced_span(samples, SAMPLE_RATE)
    return samples[first:last]


def two_voice_visit(folder: Path, patient_first: bool) -> Path:
    """Mono WAV: the clinician's and the patient's lines in turn (GAP apart), the patient first
    when `patient_first`."""
    clinician = [("en-us", t) for t in CLINICIAN_LINES]
    patient = [("en-us+f4", t) for t in PATIENT_LINES]
    first, second = (patient, clinician) if patient_first else (clinician, patient)
    order = [first[0], second[0], first[1], second[1]]
    pieces = []
    for i, (voice, text) in enumerate(order):
        pieces += [speak_voice(folder, text, f"turn{i}.wav", voice), np.zeros(int(GAP * SAMPLE_RATE), np.float32)]
    name = "patient-first.wav" if patient_first else "clinician-first.wav"
    return write_wav(folder / name, np.concatenate(pieces), SAMPLE_RATE)


@pytest.mark.parametrize("patient_first", [False, True], ids=["clinician-first", "patient-first"])
def test_roles_from_speech_in_either_order(visit, transcribe, s3, upload, tmp_path, patient_first):
    """Speaker labels: the clinician is the one who asks and examines and prescribes, whoever
    speaks first (emulator.service.clinical_roles)."""
    uri = upload(two_voice_visit(tmp_path, patient_first), f"two-voices-{patient_first}.wav")
    name = f"two-voices-{'patient' if patient_first else 'clinician'}-first"
    settings = {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 2}
    transcribe.start_medical_scribe_job(**start_request(name, uri, Settings=settings, ChannelDefinitions=None))
    job = wait_for_job(transcribe, name, 300, noun="MedicalScribeJob")
    assert job["MedicalScribeJobStatus"] == "COMPLETED", job.get("FailureReason")
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"{name}/transcript.json")["Body"].read()
    segments = json.loads(body)["Conversation"]["TranscriptSegments"]
    said = [(s["ParticipantDetails"]["ParticipantRole"], s["Content"].lower()) for s in segments]
    assert {role for role, _ in said} == {"CLINICIAN_0", "PATIENT_0"}, said
    assert all(role == "CLINICIAN_0" for role, text in said if "prescribe" in text or "brings you" in text), said
    assert all(role == "PATIENT_0" for role, text in said if "fever" in text or "thank you" in text), said
    assert (said[0][0] == "PATIENT_0") is patient_first
    transcribe.delete_medical_scribe_job(MedicalScribeJobName=name)


BAD_SETTINGS = [
    ({"Settings": {"ChannelIdentification": True, "ShowSpeakerLabels": True, "MaxSpeakerLabels": 2}}, "exactly one"),
    ({"Settings": {"ShowSpeakerLabels": False}, "ChannelDefinitions": None}, "exactly one"),
    ({"Settings": {"ShowSpeakerLabels": True}, "ChannelDefinitions": None}, "MaxSpeakerLabels"),
    ({"ChannelDefinitions": None}, "if and only if"),
    ({"Settings": {"ShowSpeakerLabels": True, "MaxSpeakerLabels": 2}}, "if and only if"),
    ({"ChannelDefinitions": [{"ChannelId": 0, "ParticipantRole": "CLINICIAN"},
                             {"ChannelId": 1, "ParticipantRole": "CLINICIAN"}]}, "CLINICIAN"),
    ({"Settings": {"ChannelIdentification": True, "VocabularyFilterName": "f"}}, "VocabularyFilterMethod"),
    ({"Settings": {"ChannelIdentification": True, "VocabularyName": "no-such-vocabulary"}}, "(?i)vocabulary"),
    ({"Media": {"MediaFileUri": "https://example.com/visit.wav"}}, "S3"),
]


@pytest.mark.parametrize("overrides,wording", BAD_SETTINGS)
def test_bad_start_requests(transcribe, job_name, overrides, wording):
    request = start_request(job_name, "s3://media/visit.wav", **overrides)
    with pytest.raises(transcribe.exceptions.BadRequestException, match=wording):
        transcribe.start_medical_scribe_job(**request)
    with pytest.raises(transcribe.exceptions.BadRequestException):
        transcribe.get_medical_scribe_job(MedicalScribeJobName=job_name)


def test_missing_job(transcribe):
    with pytest.raises(transcribe.exceptions.BadRequestException, match="couldn't be found"):
        transcribe.get_medical_scribe_job(MedicalScribeJobName="never-started")
