"""Who is the clinician (emulator.service.clinical_roles), and ClinicalInsights in AWS's shape
(emulator.service.clinical_insights)."""

from __future__ import annotations

import pytest

from emulator.service.clinical_insights import clinical_insights
from emulator.service.clinical_roles import assign_roles, clinician_score
from emulator.service.medical_scribe_pipeline import participant_roles
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Token

VISIT = [
    ("clinician", "Good morning. What brings you in today?"),
    ("patient", "I have had a bad cough and a fever for three days. I have no chest pain."),
    ("clinician", "Your lungs sound clear. I think this is a viral infection."),
    ("clinician", "I will prescribe a cough syrup. Take it twice a day and follow up next week."),
    ("patient", "Okay, thank you doctor."),
]


@pytest.mark.parametrize("patient_first", [False, True])
def test_the_clinician_is_found_whoever_speaks_first(patient_first):
    lines = VISIT[1:] + VISIT[:1] if patient_first else VISIT
    roles = assign_roles([(speaker, text) for speaker, text in lines])
    assert roles == {"clinician": "CLINICIAN_0", "patient": "PATIENT_0"}


def test_scores():
    assert clinician_score(["How long have you had the pain? Your blood pressure is normal."]) > 0
    assert clinician_score(["My knee hurts when I walk. I have had a headache for a week."]) < 0
    assert clinician_score([]) == 0


def test_no_cue_keeps_the_first_speaker_as_clinician_and_numbers_the_patients():
    roles = assign_roles([("b", "Hello."), ("a", "Hi there."), ("c", "Good afternoon.")])
    assert roles == {"b": "CLINICIAN_0", "a": "PATIENT_0", "c": "PATIENT_1"}


def _tokens(speaker: str, text: str, at: float) -> list[Token]:
    out = []
    for i, word in enumerate(text.rstrip("?.").split()):
        out.append(Token(PRONUNCIATION, word, 0.9, at + i * 0.3, at + i * 0.3 + 0.25, speaker=speaker, segment=int(at)))
    out.append(Token(PUNCTUATION, text[-1], 0.0, None, None, speaker=speaker, segment=int(at)))
    return out


def test_participant_roles_read_the_speech():
    tokens = _tokens("spk_0", "My throat hurts and I have a fever.", 0) + _tokens(
        "spk_1", "I think you have strep throat. I will prescribe an antibiotic.", 10
    )
    role_of = participant_roles(tokens, None)
    assert role_of(tokens[0]) == "PATIENT_0" and role_of(tokens[-1]) == "CLINICIAN_0"


def test_clinical_insights_shape_and_inclusive_end_offsets():
    segments = [{"SegmentId": "s1", "Content": "Take 500 milligrams of amoxicillin for the pain in your throat."}]
    insights = clinical_insights(segments)
    drug = next(i for i in insights if i["Category"] == "MEDICATION")
    assert list(drug) == ["Attributes", "Category", "InsightId", "InsightType", "Spans", "Type"]
    assert drug["InsightType"] == "ClinicalEntity" and drug["Type"] == "GENERIC_NAME"
    (span,) = drug["Spans"]
    assert span == {"BeginCharacterOffset": 23, "Content": "amoxicillin", "EndCharacterOffset": 33, "SegmentId": "s1"}
    (dose,) = drug["Attributes"]
    assert dose["Type"] == "DOSAGE" and dose["Spans"][0]["Content"] == "500 milligrams" and dose["AttributeId"]
    assert any(i["Category"] == "ANATOMY" and i["Spans"][0]["Content"] == "throat" for i in insights)
