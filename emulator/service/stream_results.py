"""Typed results of a streaming transcription: what a `StreamSession` yields, before any wire.

Shapes mirror the transcribe-streaming Smithy model (botocore ships none; digest §5.6):
`Result` / `MedicalResult`, `Alternative` / `MedicalAlternative`, `Item` / `MedicalItem`,
`Entity` / `MedicalEntity`, `LanguageWithScore`, in snake_case. A member that is None (or an
empty `language_identification`) is absent on the wire; the medical shapes leave out
`vocabulary_filter_match`, `stable`, `language_code`, an entity's `type`. Values are final
as the wire carries them: times in seconds rounded to milliseconds, confidences and scores
rounded to 4 places. The streaming transports encode them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResultItem:
    """Item / MedicalItem: one word or punctuation mark."""

    start_time: float  # StartTime, seconds
    end_time: float  # EndTime, seconds
    type: str  # Type: pronunciation | punctuation
    content: str  # Content
    vocabulary_filter_match: bool | None = None  # VocabularyFilterMatch; None for medical
    speaker: str | None = None  # Speaker ("0", "1", ...) with speaker labels
    confidence: float | None = None  # Confidence 0-1, final results' words only
    stable: bool | None = None  # Stable, with partial-results stabilization (standard only)


@dataclass(frozen=True)
class ResultEntity:
    """Entity / MedicalEntity: identified PII (or PHI) spanning one or more words."""

    start_time: float  # StartTime, seconds
    end_time: float  # EndTime, seconds
    category: str  # Category: PII | PHI
    content: str  # Content: the words, space-joined
    confidence: float  # Confidence 0-1
    type: str | None = None  # Type (PiiEntityType); None for medical


@dataclass(frozen=True)
class ResultAlternative:
    """Alternative / MedicalAlternative."""

    transcript: str  # Transcript
    items: tuple[ResultItem, ...]  # Items
    entities: tuple[ResultEntity, ...] | None = None  # Entities; None: not identifying (absent)


@dataclass(frozen=True)
class LanguageScore:
    """LanguageWithScore: one of the LanguageOptions and how likely the result's audio is in it."""

    language_code: str  # LanguageCode, e.g. en-US
    score: float  # Score 0-1


@dataclass(frozen=True)
class TranscriptResult:
    """Result / MedicalResult: one utterance, partial (repeated under its id) or final."""

    result_id: str  # ResultId
    start_time: float  # StartTime, seconds from the start of the stream
    end_time: float  # EndTime, seconds
    is_partial: bool  # IsPartial
    alternatives: tuple[ResultAlternative, ...]  # Alternatives (one)
    channel_id: str | None = None  # ChannelId (ch_0, ch_1) with channel identification
    language_code: str | None = None  # LanguageCode with language identification
    language_identification: tuple[LanguageScore, ...] = ()  # LanguageIdentification (finals)
