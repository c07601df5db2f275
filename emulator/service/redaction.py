"""PII identification and redaction (ContentRedaction, RedactionType=PII) on tokens (`find_pii`,
`redact`: batch and streaming), and on ShowAlternatives `segments` (`redact_segments`).

Pure: tokens (or segments) in, new ones out (the detector is the only thing called).

Sources: AWS Developer Guide, "Redacting or identifying personally identifiable
information", "Redacting PII in your batch job" and "Example PII redaction and
identification output"; botocore `ContentRedaction` / `PiiEntityType`; digest §3.1,
§3.2, §4, §4.5.

What AWS does, and so what this does:
* Every word item of an identified entity is replaced by `[PII]`: its alternatives become
  `[{"content": "[PII]", "redactions": [{"confidence": "0.9999", "type": "NAME",
  "category": "PII"}]}]`, with no ASR `confidence` (the redaction confidence is how sure
  the detector is that the word is PII). An entity over several items gives several
  `[PII]` items: in a real output published on GitHub (aws-s3-audio-pii-guardian's
  README) a card number said in two groups reads "[PII] [PII]", one
  CREDIT_DEBIT_NUMBER redaction per item.
  Ids, times, speaker and channel labels stay; punctuation items are never redacted.
* `transcripts` and each `audio_segments` transcript are rebuilt from the items, so they
  read "My name is [PII] [PII]."
* PiiEntityTypes chooses the types; omitted, empty or containing ALL means all of them.
* The transcript file of a redaction job carries a top-level `"isRedacted"` right after
  `accountId` (see `mark_redacted`): true in the redacted file, false in the unredacted
  one that `redacted_and_unredacted` adds (AWS's example pair).

Apply it after vocabulary filtering and DisplayAs (so it sees the words as written). The
batch pipeline marks and redacts its tokens (`find_pii`, `redact`) and renders them again
(emulator.service.output renders a token with `pii` as a redacted item), then adds
`redact_segments`: each `segments` alternative (ShowAlternatives) is analysed and redacted
on its own. `channel_labels`, when present, is rendered from the redacted tokens. AWS redacts en-US
and es-US only, and not with language identification; the detector here speaks English
only.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Callable

from emulator.engine.pii import PiiDetector
from emulator.service.filtering import join_items
from emulator.service.output import render_redaction
from emulator.service.tokens import PRONUNCIATION, Pii, Token

REDACTED = "[PII]"
ALL = "ALL"
# botocore `PiiEntityType`, without ALL.
PII_ENTITY_TYPES = (
    "BANK_ACCOUNT_NUMBER",
    "BANK_ROUTING",
    "CREDIT_DEBIT_NUMBER",
    "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY",
    "PIN",
    "EMAIL",
    "ADDRESS",
    "NAME",
    "PHONE",
    "SSN",
)
# Detector (Presidio) entity type -> PiiEntityType. LOCATION is ADDRESS: AWS's ADDRESS
# "can include a street, building, location, city, state, country, county, zip, ...".
AWS_TYPE = {
    "PERSON": "NAME",
    "LOCATION": "ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CREDIT_DEBIT_NUMBER",
    "CREDIT_CARD_CVV": "CREDIT_DEBIT_CVV",
    "CREDIT_CARD_EXPIRY": "CREDIT_DEBIT_EXPIRY",
    "PIN": "PIN",
    "US_SSN": "SSN",
    "US_BANK_NUMBER": "BANK_ACCOUNT_NUMBER",
    "ABA_ROUTING_NUMBER": "BANK_ROUTING",
}
# Texts handed to the detector at once: long transcripts go in pieces cut after a sentence.
CHUNK_CHARS = 4000
_SENTENCE_END = ".?!"


def detector_types(requested_types: list[str] | None) -> list[str]:
    """The detector's entity types for a PiiEntityTypes list (None, [] or ALL: every type).

    Raises ValueError for a value outside botocore's PiiEntityType enum.
    """
    requested = set(requested_types or [ALL])
    unknown = requested - set(PII_ENTITY_TYPES) - {ALL}
    if unknown:
        raise ValueError(f"unknown PiiEntityTypes {sorted(unknown)}")
    wanted = set(PII_ENTITY_TYPES) if ALL in requested else requested
    return [name for name, aws in AWS_TYPE.items() if aws in wanted]


def redact_segments(
    segments: list[dict], detector: PiiDetector, requested_types: list[str] | None = None, language: str = "en"
) -> list[dict]:
    """A copy of `results.segments` (ShowAlternatives) with each alternative analysed and
    redacted on its own. ValueError (unknown type), PiiModelMissing."""
    types = detector_types(requested_types)
    segments = json.loads(json.dumps(segments))  # a deep copy, several times faster than copy.deepcopy
    for segment in segments:
        for alternative in segment.get("alternatives", []):
            _redact_flat(alternative, detector, types, language)
    return segments


def mark_redacted(transcript: dict, is_redacted: bool) -> dict:
    """The transcript file with `"isRedacted"` placed after `accountId`, where AWS puts it."""
    out: dict = {}
    for key, value in transcript.items():
        if key != "isRedacted":
            out[key] = value
        if key == "accountId":
            out["isRedacted"] = is_redacted
    if "isRedacted" not in out:
        out["isRedacted"] = is_redacted
    return out


# --- on tokens ----------------------------------------------------------------------------


def find_pii(
    tokens: list[Token], detector: PiiDetector, requested_types: list[str] | None = None, language: str = "en"
) -> list[Token]:
    """`tokens` with `pii` set on the words that PII entities of the requested types touch
    (requested_types: PiiEntityTypes; None, [] or ALL: every type). ValueError for an unknown
    type; PiiModelMissing."""
    found = pii_positions(tokens, detector, detector_types(requested_types), language)
    return [replace(t, pii=found[i]) if i in found else t for i, t in enumerate(tokens)]


def redact(tokens: list[Token]) -> list[Token]:
    """`tokens` whose PII words read `[PII]`."""
    return [replace(t, content=REDACTED) if t.pii is not None else t for t in tokens]


# --- finding ------------------------------------------------------------------------------


def pii_positions(
    tokens: list[Token | None], detector: PiiDetector, types: list[str], language: str
) -> dict[int, Pii]:
    """Positions of the words that PII entities touch, with their type (None entries are no
    part of the text). A word two entities touch takes the better-scored one."""
    found: dict[int, Pii] = {}
    if not types:
        return found
    for text, spans in transcript_chunks(tokens):
        for entity in detector.detect(text, language, types):
            redaction = Pii(AWS_TYPE[entity.entity_type], entity.score)
            for position, start, end in spans:
                touched = start < entity.end_char and entity.start_char < end
                if not touched or tokens[position].kind != PRONUNCIATION:
                    continue
                if position not in found or found[position].score < redaction.score:
                    found[position] = redaction
    return found


def item_tokens(items: list[dict], content: Callable[[dict], str]) -> list[Token | None]:
    """Items (of `results` or of an alternative) as the tokens the detector reads: kind and
    content; None for an item with no content."""
    return [
        Token(item.get("type", ""), content(item)) if item.get("alternatives") or "content" in item else None
        for item in items
    ]


def transcript_chunks(tokens: list[Token | None]):
    """(text, [(token position, start, end)]) pieces of the transcript, joined as join_tokens
    joins them (a space before each word, punctuation attached), cut after a sentence end
    once longer than CHUNK_CHARS. None entries are skipped."""
    text = ""
    spans: list[tuple[int, int, int]] = []
    for position, token in enumerate(tokens):
        if token is None:
            continue
        word = token.content
        if text and token.kind != "punctuation":
            text += " "
        spans.append((position, len(text), len(text) + len(word)))
        text += word
        if len(text) >= CHUNK_CHARS and token.kind == "punctuation" and word in _SENTENCE_END:
            yield text, spans
            text, spans = "", []
    if text:
        yield text, spans


def _redact_flat(alternative: dict, detector: PiiDetector, types: list[str], language: str) -> None:
    """One `segments` alternative (ShowAlternatives), whose items are flat {content, confidence, ...}:
    the same replacement, in that shape [unverified: no AWS sample of a redacted alternative]."""
    words = alternative.get("items", [])
    found = pii_positions(item_tokens(words, lambda item: item["content"]), detector, types, language)
    for position, redaction in found.items():
        word = {k: v for k, v in words[position].items() if k != "confidence"}
        word["content"] = REDACTED
        word["redactions"] = [render_redaction(redaction)]
        words[position] = word
    if "transcript" in alternative:
        alternative["transcript"] = join_items([{"type": w.get("type"), "alternatives": [w]} for w in words])
