"""PHI identification of medical jobs (ContentIdentificationType=PHI): `results.entities`.

Pure: tokens in (`phi_entities`), entities out, rendered as the list by `render_entities`; the
detector (emulator.engine.pii, presidio + spaCy) is the only thing called. Shape, from the
Transcribe Medical guide's example (digest §4, §4.5):

    "entities": [{"content": "Bertrand", "category": "PHI-Personal",
                  "startTime": 0.92, "endTime": 1.2, "confidence": 0.9989}]

camelCase keys and JSON numbers (unlike items, whose times are strings); the words stay in
the transcript (identification, not redaction). AWS's PHI covers names, dates, ages,
addresses, phone numbers, e-mail addresses and identifying numbers; the guide's example
shows one category, "PHI-Personal", and we give every entity that category (AWS's other
category names are not published).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.engine.pii import PiiDetector
from emulator.service.redaction import transcript_chunks
from emulator.service.tokens import PRONUNCIATION, Token

CATEGORY = "PHI-Personal"
# Detector entity types that are PHI.
PHI_TYPES = ("PERSON", "LOCATION", "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "DATE_TIME", "AGE")


@dataclass(frozen=True)
class PhiEntity:
    """One detected PHI span: the words it covers as the tokens spell them, the first and last
    covered word's start and end (seconds), the detector's score (0..1)."""

    content: str
    start: float
    end: float
    score: float


def phi_entities(tokens: list[Token], detector: PiiDetector) -> list[PhiEntity]:
    """The PHI entities of `tokens` (words with times), in transcript order, one per detected
    span. Raises PiiModelMissing."""
    entities = []
    for text, spans in transcript_chunks(tokens):
        for entity in detector.detect(text, "en", list(PHI_TYPES)):
            words = [
                tokens[position]
                for position, start, end in spans
                if start < entity.end_char and entity.start_char < end and tokens[position].kind == PRONUNCIATION
            ]
            if words:
                content = " ".join(w.content for w in words)
                entities.append(PhiEntity(content, words[0].start, words[-1].end, entity.score))
    return entities


def render_entities(entities: list[PhiEntity]) -> list[dict]:
    """`results.entities`: times in seconds to the millisecond, as the items show them."""
    return [
        {
            "content": entity.content,
            "category": CATEGORY,
            "startTime": round(max(entity.start, 0.0), 3),
            "endTime": round(max(entity.end, 0.0), 3),
            "confidence": round(entity.score, 4),
        }
        for entity in entities
    ]
