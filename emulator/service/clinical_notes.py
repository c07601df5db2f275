"""The clinical document of a HealthScribe job, extracted (never generated) from its transcript.

AWS HealthScribe writes its clinical note with generative AI. The emulator extracts: every
transcript segment is split into sentences, each statement (questions are left out) is
classified by the keyword classifier below, and each section of the note template lists the
verbatim sentences of its classes, in time order, each with an `EvidenceLinks` entry pointing
at the segment it comes from. No text is invented; a section with no supporting sentence has
an empty `Summary` (README "Differences from AWS").

The classifier: a sentence's class is the one whose cue words and phrases it contains most
(lower-case, whole words; a cue ending in "*" matches any word it begins); ties go to the
earlier class in CLASSES; no cue: no class. A SYMPTOM sentence with a negation
("no", "not", "denies", "never", "without") is a NEGATIVE_SYMPTOM (a review of systems).

Shapes, checked against AWS's developer guide: the clinical document is
`{"ClinicalDocumentation": {"Sections": [{"SectionName", "Summary": [{"EvidenceLinks":
[{"SegmentId"}], "SummarizedSegment"}]}]}}`, keys in the order of the clinical documentation
example of "Starting an AWS HealthScribe transcription job" (starting-health-scribe-job.html);
each template's sections and their order are those of "AWS HealthScribe Clinical Documentation
file" (health-scribe-insights.html; HISTORY_AND_PHYSICAL has ten, DIAGNOSTIC_TESTING last). A
transcript segment's `SectionDetails.SectionName` is SUBJECTIVE, OBJECTIVE, ASSESSMENT_AND_PLAN
or VISIT_FLOW_MANAGEMENT (the four sections of "AWS HealthScribe Transcript file",
health-scribe-transcript.html). AWS's pages do not show a section with nothing to summarise
(their example lists only filled sections); the emulator lists every section of the template,
an empty one with `"Summary": []` (README "Differences from AWS").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# class -> cue words and phrases. Medical and counselling vocabulary, chosen by hand; the order
# breaks ties (a relative or a habit makes a sentence family or social history before a disease
# name makes it an assessment).
CLASSES: dict[str, tuple[str, ...]] = {
    "DIAGNOSTIC": (
        "results", "result", "came back", "showed", "shows", "blood work", "lab*", "x-ray", "scan*", "mri",
        "ultrasound", "blood test", "levels", "level", "a1c", "cholesterol", "elevated", "positive", "negative",
    ),
    "PLAN": (
        "prescrib*", "follow up", "follow-up", "take", "taking it", "schedul*", "refer*", "recommend*",
        "come back", "return", "order*", "tablet*", "pill*", "milligram*", "twice a day", "once a day",
        "three times a day", "dose", "next week", "next visit", "appointment", "we will", "i will", "i'll",
        "start you", "continue", "increase", "decrease", "stop taking", "rest", "fluids", "ice", "x-ray",
        "blood test", "test*", "therapy",
    ),
    "FAMILY": ("mother", "father", "mom", "dad", "sister", "brother", "family", "parents", "grandmother", "grandfather"),
    "SOCIAL": ("smok*", "alcohol", "drink*", "beer", "wine", "cigarette*", "job", "work*", "exercis*", "married",
               "live alone", "live with"),
    "ASSESSMENT": (
        "diagnos*", "likely", "probably", "consistent with", "suspect", "i think", "looks like", "seems like",
        "infection", "sprain", "strain", "migraine", "hypertension", "diabetes", "asthma", "bronchitis",
        "flu", "viral", "bacterial", "inflammation", "condition", "assessment", "impression",
    ),
    "EXAM": (
        "blood pressure", "temperature", "heart rate", "pulse", "lungs", "exam*", "listen*", "tender*",
        "swollen", "reflex*", "range of motion", "oxygen", "saturation", "heart sounds", "clear", "palpat*",
        "weight", "vital*",
    ),
    "HISTORY": ("history", "surgery", "operation", "years ago", "allerg*", "medication*", "chronic", "hospital*",
                "diagnosed", "had a", "used to have"),
    "SYMPTOM": (
        "pain", "pains", "ache*", "hurt*", "sore", "cough*", "fever", "headache*", "nause*", "vomit*", "dizz*",
        "tired", "fatigue", "rash", "swelling", "bleeding", "short of breath", "shortness of breath", "chills",
        "itch*", "numb*", "weak*", "cramp*", "diarrh*", "constipat*", "congest*", "sneez*", "throat", "chest",
        "stomach", "back", "knee", "ankle", "since", "days", "weeks", "months", "started", "ago", "yesterday",
        "worse", "symptom*",
    ),
    "BEHAVIOR": ("anxious", "anxiety", "sad", "depress*", "stress*", "sleep*", "mood", "worried", "panic*", "angry",
                 "lonely", "nervous", "feel*", "felt"),
    "GOAL": ("goal*", "want to", "hope to", "would like to", "aim*", "plan to"),
    "PROGRESS": ("better", "improv*", "progress*", "worse than", "less", "more often", "since last"),
    "INTERVENTION": ("we discussed", "we practiced", "let's try", "technique*", "breathing", "counsel*", "exercise*",
                     "coping", "strateg*", "talked about"),
    "RESPONSE": ("agreed", "agree", "understand*", "helped", "helpful", "willing", "makes sense", "okay", "sounds good"),
}
NEGATIONS = ("no", "not", "denies", "deny", "never", "without", "don't", "doesn't", "haven't", "hasn't")

# Template -> (SectionName, classes it lists) in AWS's order (developer guide, "AWS HealthScribe
# Clinical Documentation file", health-scribe-insights.html: its table of each template's
# sections); CHIEF_COMPLAINT lists the first SYMPTOM sentence only.
TEMPLATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "HISTORY_AND_PHYSICAL": (
        ("CHIEF_COMPLAINT", ("SYMPTOM",)),
        ("HISTORY_OF_PRESENT_ILLNESS", ("SYMPTOM",)),
        ("REVIEW_OF_SYSTEMS", ("NEGATIVE_SYMPTOM",)),
        ("PAST_MEDICAL_HISTORY", ("HISTORY",)),
        ("ASSESSMENT", ("ASSESSMENT",)),
        ("PLAN", ("PLAN",)),
        ("PHYSICAL_EXAMINATION", ("EXAM",)),
        ("PAST_FAMILY_HISTORY", ("FAMILY",)),
        ("PAST_SOCIAL_HISTORY", ("SOCIAL",)),
        ("DIAGNOSTIC_TESTING", ("DIAGNOSTIC",)),
    ),
    "GIRPP": (
        ("GOAL", ("GOAL",)),
        ("INTERVENTION", ("INTERVENTION",)),
        ("RESPONSE", ("RESPONSE",)),
        ("PROGRESS", ("PROGRESS",)),
        ("PLAN", ("PLAN",)),
    ),
    "BIRP": (
        ("BEHAVIOR", ("BEHAVIOR", "SYMPTOM", "NEGATIVE_SYMPTOM")),
        ("INTERVENTION", ("INTERVENTION",)),
        ("RESPONSE", ("RESPONSE", "PROGRESS")),
        ("PLAN", ("PLAN",)),
    ),
    "SIRP": (
        ("SITUATION", ("BEHAVIOR", "SYMPTOM", "NEGATIVE_SYMPTOM", "HISTORY", "FAMILY", "SOCIAL")),
        ("INTERVENTION", ("INTERVENTION",)),
        ("RESPONSE", ("RESPONSE", "PROGRESS")),
        ("PLAN", ("PLAN",)),
    ),
    "DAP": (
        ("DATA", ("SYMPTOM", "NEGATIVE_SYMPTOM", "HISTORY", "FAMILY", "SOCIAL", "EXAM", "DIAGNOSTIC", "BEHAVIOR")),
        ("ASSESSMENT", ("ASSESSMENT", "PROGRESS")),
        ("PLAN", ("PLAN",)),
    ),
}
_SOAP = (
    ("SUBJECTIVE", ("SYMPTOM", "NEGATIVE_SYMPTOM", "HISTORY", "FAMILY", "SOCIAL", "BEHAVIOR", "GOAL")),
    ("OBJECTIVE", ("EXAM", "DIAGNOSTIC")),
    ("ASSESSMENT", ("ASSESSMENT", "PROGRESS")),
    ("PLAN", ("PLAN", "INTERVENTION")),
)
TEMPLATES["BEHAVIORAL_SOAP"] = _SOAP
TEMPLATES["PHYSICAL_SOAP"] = _SOAP
DEFAULT_TEMPLATE = "HISTORY_AND_PHYSICAL"  # botocore's documentation of NoteTemplate

# Transcript SectionDetails: class -> SectionName (anything else: VISIT_FLOW_MANAGEMENT).
TRANSCRIPT_SECTIONS = {
    "SYMPTOM": "SUBJECTIVE", "NEGATIVE_SYMPTOM": "SUBJECTIVE", "HISTORY": "SUBJECTIVE", "FAMILY": "SUBJECTIVE",
    "SOCIAL": "SUBJECTIVE", "BEHAVIOR": "SUBJECTIVE", "GOAL": "SUBJECTIVE",
    "EXAM": "OBJECTIVE", "DIAGNOSTIC": "OBJECTIVE", "ASSESSMENT": "ASSESSMENT_AND_PLAN", "PLAN": "ASSESSMENT_AND_PLAN",
    "INTERVENTION": "ASSESSMENT_AND_PLAN", "PROGRESS": "ASSESSMENT_AND_PLAN",
}
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a transcript segment, verbatim; its class (None: unclassified)."""

    segment_id: str
    text: str
    label: str | None


def _cue_matches(cue: str, words: list[str]) -> int:
    parts = cue.split()
    if len(parts) == 1 and cue.endswith("*"):
        return sum(w.startswith(cue[:-1]) for w in words)
    n = len(parts)
    return sum(words[i : i + n] == parts for i in range(len(words) - n + 1))


def classify(sentence: str) -> str | None:
    """The class of one sentence (module docstring); None for a question or no cue."""
    if sentence.rstrip().endswith("?"):
        return None
    words = _WORD.findall(sentence.lower())
    scores = {label: sum(_cue_matches(c, words) for c in cues) for label, cues in CLASSES.items()}
    best = max(scores, key=lambda label: scores[label])  # the first of equal scores (dict order)
    if not scores[best]:
        return None
    if best == "SYMPTOM" and any(w in NEGATIONS for w in words):
        return "NEGATIVE_SYMPTOM"
    return best


def sentences(segment_id: str, content: str) -> list[Sentence]:
    """A segment's sentences, verbatim (stripped), each classified."""
    found = (m.group().strip() for m in _SENTENCE.finditer(content))
    return [Sentence(segment_id, s, classify(s)) for s in found if _WORD.search(s.lower())]


def transcript_section(content: str) -> str:
    """A transcript segment's SectionDetails.SectionName: the section of its first classified
    sentence; VISIT_FLOW_MANAGEMENT when none is."""
    for sentence in sentences("", content):
        if sentence.label in TRANSCRIPT_SECTIONS:
            return TRANSCRIPT_SECTIONS[sentence.label]
    return "VISIT_FLOW_MANAGEMENT"


def clinical_document(segments: list[dict], template: str | None) -> dict:
    """The clinical document of transcript segments (`{SegmentId, Content}` in time order) for
    a NoteTemplate (None: HISTORY_AND_PHYSICAL)."""
    found = [s for segment in segments for s in sentences(segment["SegmentId"], segment["Content"])]
    sections = []
    for name, labels in TEMPLATES[template or DEFAULT_TEMPLATE]:
        chosen = [s for s in found if s.label in labels]
        if name == "CHIEF_COMPLAINT":
            chosen = chosen[:1]
        summary = [{"EvidenceLinks": [{"SegmentId": s.segment_id}], "SummarizedSegment": s.text} for s in chosen]
        sections.append({"SectionName": name, "Summary": summary})
    return {"ClinicalDocumentation": {"Sections": sections}}
