"""The HealthScribe clinical document classifier and renderer (emulator.service.clinical_notes)
and the transcript's participant roles (emulator.service.medical_scribe_pipeline)."""

from __future__ import annotations

import pytest

from emulator.aws.model import enum
from emulator.service.clinical_notes import TEMPLATES, classify, clinical_document, sentences, transcript_section
from emulator.service.medical_scribe import clinical_document_key
from emulator.service.medical_scribe_pipeline import participant_roles
from emulator.service.tokens import PRONUNCIATION, Token

SEGMENTS = [
    {"SegmentId": "s1", "Content": "Hello, how long have you had the cough?"},
    {"SegmentId": "s2", "Content": "I have had a cough and a fever for three days. I have no chest pain."},
    {"SegmentId": "s3", "Content": "My mother has diabetes. I smoke a pack a day."},
    {"SegmentId": "s4", "Content": "Your blood pressure is normal. I think it is a viral infection."},
    {"SegmentId": "s5", "Content": "I will prescribe an inhaler. Follow up in two weeks."},
]


@pytest.mark.parametrize(
    "sentence,label",
    [
        ("I have had a headache for two weeks.", "SYMPTOM"),
        ("I have no fever.", "NEGATIVE_SYMPTOM"),
        ("How long have you had the headache?", None),
        ("Your blood pressure is normal.", "EXAM"),
        ("I think this is likely a migraine.", "ASSESSMENT"),
        ("Take two tablets twice a day and come back next week.", "PLAN"),
        ("My father had heart surgery.", "FAMILY"),
        ("I drink wine every night.", "SOCIAL"),
        ("The weather is nice.", None),
        ("Your blood test came back normal.", "DIAGNOSTIC"),
        ("The x-ray shows a small fracture.", "DIAGNOSTIC"),
        ("I will order a blood test.", "PLAN"),
    ],
)
def test_classify(sentence, label):
    assert classify(sentence) == label


def test_sentences_are_verbatim():
    found = sentences("s2", SEGMENTS[1]["Content"])
    assert [s.text for s in found] == ["I have had a cough and a fever for three days.", "I have no chest pain."]
    assert all(s.text in SEGMENTS[1]["Content"] and s.segment_id == "s2" for s in found)


def test_every_model_template_has_sections():
    assert set(TEMPLATES) == set(enum("MedicalScribeNoteTemplate"))


@pytest.mark.parametrize("template", [None, *enum("MedicalScribeNoteTemplate")])
def test_document_cites_its_segments(template):
    document = clinical_document(SEGMENTS, template)
    sections = document["ClinicalDocumentation"]["Sections"]
    assert [s["SectionName"] for s in sections] == [n for n, _ in TEMPLATES[template or "HISTORY_AND_PHYSICAL"]]
    content = {s["SegmentId"]: s["Content"] for s in SEGMENTS}
    cited = [e for s in sections for e in s["Summary"]]
    assert cited
    for entry in cited:
        (link,) = entry["EvidenceLinks"]
        assert entry["SummarizedSegment"] in content[link["SegmentId"]]
    assert all("?" not in e["SummarizedSegment"] for e in cited)


def test_history_and_physical_sections():
    sections = clinical_document(SEGMENTS, None)["ClinicalDocumentation"]["Sections"]
    text = {s["SectionName"]: [e["SummarizedSegment"] for e in s["Summary"]] for s in sections}
    assert text["CHIEF_COMPLAINT"] == ["I have had a cough and a fever for three days."]
    assert text["REVIEW_OF_SYSTEMS"] == ["I have no chest pain."]
    assert text["PAST_FAMILY_HISTORY"] == ["My mother has diabetes."]
    assert text["PAST_SOCIAL_HISTORY"] == ["I smoke a pack a day."]
    assert text["PHYSICAL_EXAMINATION"] == ["Your blood pressure is normal."]
    assert text["ASSESSMENT"] == ["I think it is a viral infection."]
    assert text["PLAN"] == ["I will prescribe an inhaler.", "Follow up in two weeks."]
    assert text["PAST_MEDICAL_HISTORY"] == []


def test_history_and_physical_has_aws_sections_in_aws_order():
    # AWS developer guide, "AWS HealthScribe Clinical Documentation file" (health-scribe-insights.html).
    assert [name for name, _ in TEMPLATES["HISTORY_AND_PHYSICAL"]] == [
        "CHIEF_COMPLAINT", "HISTORY_OF_PRESENT_ILLNESS", "REVIEW_OF_SYSTEMS", "PAST_MEDICAL_HISTORY", "ASSESSMENT",
        "PLAN", "PHYSICAL_EXAMINATION", "PAST_FAMILY_HISTORY", "PAST_SOCIAL_HISTORY", "DIAGNOSTIC_TESTING",
    ]
    segments = [*SEGMENTS, {"SegmentId": "s6", "Content": "Your chest x-ray came back clear."}]
    sections = clinical_document(segments, None)["ClinicalDocumentation"]["Sections"]
    (testing,) = [s for s in sections if s["SectionName"] == "DIAGNOSTIC_TESTING"]
    (entry,) = testing["Summary"]
    assert entry == {"EvidenceLinks": [{"SegmentId": "s6"}], "SummarizedSegment": "Your chest x-ray came back clear."}
    assert transcript_section("Your chest x-ray came back clear.") == "OBJECTIVE"


def test_transcript_sections():
    assert [transcript_section(s["Content"]) for s in SEGMENTS] == [
        "VISIT_FLOW_MANAGEMENT", "SUBJECTIVE", "SUBJECTIVE", "OBJECTIVE", "ASSESSMENT_AND_PLAN",
    ]


def _word(speaker=None, channel=None):
    return Token(PRONUNCIATION, "word", 0.9, 0.0, 0.1, speaker=speaker, channel=channel)


def test_roles_from_channels():
    role_of = participant_roles([], [{"ChannelId": 0, "ParticipantRole": "PATIENT"},
                                     {"ChannelId": 1, "ParticipantRole": "CLINICIAN"}])
    assert role_of(_word(channel="ch_0")) == "PATIENT_0" and role_of(_word(channel="ch_1")) == "CLINICIAN_0"


def test_roles_from_speakers_first_is_the_clinician():
    tokens = [_word("spk_1"), _word("spk_0"), _word("spk_1"), _word("spk_2")]
    role_of = participant_roles(tokens, None)
    assert [role_of(t) for t in tokens] == ["CLINICIAN_0", "PATIENT_0", "CLINICIAN_0", "PATIENT_1"]


def test_clinical_document_key():
    assert clinical_document_key("visit/transcript.json") == "visit/summary.json"
