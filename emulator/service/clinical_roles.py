"""Who is the clinician: HealthScribe's participant roles from what each speaker says.

With `ShowSpeakerLabels`, AWS HealthScribe labels each speaker CLINICIAN_n or PATIENT_n from the
conversation ("AWS HealthScribe Transcript file", health-scribe-transcript.html: "Participant
role detection so you can distinguish the patients from the clinicians"); AWS does not say how.
The emulator scores each speaker's sentences with documented cues and makes the speaker with the
highest clinician score CLINICIAN_0; the others are PATIENT_0, PATIENT_1, ... in order of first
speech. One clinician per visit (AWS numbers several; the emulator does not tell two clinicians
apart).

Cues, per sentence (sentences and their classes from emulator.service.clinical_notes):
* clinician +1: a question (the clinician asks the medical questions); a sentence of the
  examination, diagnostic test, assessment, plan or intervention classes (EXAM, DIAGNOSTIC,
  ASSESSMENT, PLAN, INTERVENTION); +0.5 for a statement addressed to the other ("you", "your");
* patient +1: a sentence of the symptom, history, family, social or behaviour classes said in
  the first person ("I", "my", "me", ...): symptoms described by the one who has them; +1 for
  addressing the clinician ("doctor", "doc").
A speaker's score is (clinician - patient) / sentences. Equal scores (or no speech): the first
speaker to talk is the clinician, who usually opens the visit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from emulator.service.clinical_notes import sentences

CLINICIAN_CLASSES = frozenset({"EXAM", "DIAGNOSTIC", "ASSESSMENT", "PLAN", "INTERVENTION"})
PATIENT_CLASSES = frozenset({"SYMPTOM", "NEGATIVE_SYMPTOM", "HISTORY", "FAMILY", "SOCIAL", "BEHAVIOR"})
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|my|me|myself|mine)\b")
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you've|yourself)\b")
_ADDRESS = re.compile(r"\b(?:doctor|doc)\b")


def sentence_cues(text: str) -> tuple[float, float]:
    """(clinician, patient) cue points of one utterance (module docstring)."""
    clinician = patient = 0.0
    for sentence in sentences("", text):
        lower = sentence.text.lower()
        if sentence.text.rstrip().endswith("?"):
            clinician += 1
        elif sentence.label in CLINICIAN_CLASSES:
            clinician += 1
        if not sentence.text.rstrip().endswith("?") and _SECOND_PERSON.search(lower):
            clinician += 0.5
        if sentence.label in PATIENT_CLASSES and _FIRST_PERSON.search(lower):
            patient += 1
        if _ADDRESS.search(lower):
            patient += 1
    return clinician, patient


def clinician_score(utterances: Iterable[str]) -> float:
    """(clinician - patient) cue points per sentence of one speaker's utterances."""
    clinician = patient = 0.0
    count = 0
    for text in utterances:
        c, p = sentence_cues(text)
        clinician, patient = clinician + c, patient + p
        count += len(sentences("", text))
    return (clinician - patient) / count if count else 0.0


def assign_roles(utterances: list[tuple[str, str]]) -> dict[str, str]:
    """speaker -> ParticipantRole, from (speaker, text) utterances in time order (module
    docstring): the best clinician score is CLINICIAN_0, the others PATIENT_n by first speech."""
    order = list(dict.fromkeys(speaker for speaker, _ in utterances))
    if not order:
        return {}
    scores = {s: clinician_score(text for speaker, text in utterances if speaker == s) for s in order}
    clinician = max(order, key=lambda s: scores[s])  # the first of equal scores: the opener
    patients = [s for s in order if s != clinician]
    return {clinician: "CLINICIAN_0", **{s: f"PATIENT_{i}" for i, s in enumerate(patients)}}
