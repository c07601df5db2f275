"""The token: one word or punctuation mark of a transcript, as batch and streaming
post-processing work on it (emulator.service.filtering, redaction, phi) before any JSON exists.

Batch renders tokens as Transcribe's transcript `results` (emulator.service.output): times as
strings of seconds, confidences as strings, ids from 0. Streaming renders them as `Items` of a
TranscriptEvent (JSON numbers). Both renderings read only these fields.
"""

from __future__ import annotations

from dataclasses import dataclass

PRONUNCIATION, PUNCTUATION = "pronunciation", "punctuation"  # Transcribe's item types


@dataclass(frozen=True)
class Pii:
    """A PII entity a token belongs to: botocore `PiiEntityType` ("NAME") and the detector's score, 0..1."""

    type: str
    score: float


@dataclass(frozen=True)
class Token:
    """One word (PRONUNCIATION) or punctuation mark (PUNCTUATION).

    start/end: seconds from the start of the audio (None for a batch punctuation mark, which has
    no times); confidence 0..1 (0.0 for punctuation). segment: the number of the audio segment
    (utterance) it belongs to; matching never runs across segments. channel: "ch_0" | "ch_1"
    under channel identification; speaker: its speaker label; filter_match: a vocabulary filter
    in "tag" mode matched it; pii: the PII entity it is part of; stable: streaming partial
    results stabilization says it will not change.
    """

    kind: str
    content: str
    confidence: float = 0.0
    start: float | None = None
    end: float | None = None
    segment: int = 0
    channel: str | None = None
    speaker: str | None = None
    filter_match: bool = False
    pii: Pii | None = None
    stable: bool = True


def join_tokens(tokens: list[Token]) -> str:
    """Words separated by spaces, punctuation attached to the word before it."""
    out = ""
    for token in tokens:
        if token.kind == PUNCTUATION or not out:
            out += token.content
        else:
            out += " " + token.content
    return out
