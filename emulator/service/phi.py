"""PHI identification of medical jobs (ContentIdentificationType=PHI): `results.entities`.

Pure: results in, entity list out; the detector (emulator.engine.pii, presidio + spaCy) is the
only thing called. Shape, from the Transcribe Medical guide's example (digest §4, §4.5):

    "entities": [{"content": "Bertrand", "category": "PHI-Personal",
                  "startTime": 0.92, "endTime": 1.2, "confidence": 0.9989}]

camelCase keys and JSON numbers (unlike items, whose times are strings); the words stay in
the transcript (identification, not redaction). AWS's PHI covers names, dates, ages,
addresses, phone numbers, e-mail addresses and identifying numbers; the guide's example
shows one category, "PHI-Personal", and we give every entity that category (AWS's other
category names are not published).
"""

from __future__ import annotations

from emulator.engine.pii import PiiDetector
from emulator.service.redaction import transcript_chunks

CATEGORY = "PHI-Personal"
# Detector entity types that are PHI.
PHI_TYPES = ("PERSON", "LOCATION", "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "DATE_TIME", "AGE")


def identify_phi(results: dict, detector: PiiDetector) -> list[dict]:
    """The `entities` list for a finished transcript's `results` (items with string times),
    in transcript order: one entry per detected span, its content the words it covers as the
    items spell them, times from the first and last covered word (seconds), its confidence
    the detector's score. Raises PiiModelMissing."""
    items = results.get("items", [])
    entities = []
    for text, spans in transcript_chunks(items, lambda item: item["alternatives"][0]["content"]):
        for entity in detector.detect(text, "en", list(PHI_TYPES)):
            words = [
                items[position]
                for position, start, end in spans
                if start < entity.end_char and entity.start_char < end and items[position].get("type") == "pronunciation"
            ]
            if not words:
                continue
            entities.append(
                {
                    "content": " ".join(w["alternatives"][0]["content"] for w in words),
                    "category": CATEGORY,
                    "startTime": float(words[0]["start_time"]),
                    "endTime": float(words[-1]["end_time"]),
                    "confidence": round(entity.score, 4),
                }
            )
    return entities
