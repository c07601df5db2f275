"""Post-processing of streamed results: DisplayAs, vocabulary filter, PII / PHI, speaker labels.

Works on `StreamToken`s (the engine's words with punctuation split off) through the batch
transforms (`emulator.service.filtering`, `redaction`, `phi`), whose input is a batch
transcript's `results` dict: tokens go there and back (`as_batch_results`,
`from_batch_results`). Kept apart from the session so that batch and streaming can later
share one token type.

Sources: AWS docs "Using custom vocabularies", "Filtering unwanted words", "Redacting or
identifying PII in a real-time stream" (PII on final results only), digest §5.6.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.engine.streaming import StreamWord
from emulator.service.filtering import apply_display_as, apply_vocabulary_filter, join_items
from emulator.service.output import format_confidence, format_seconds, split_word
from emulator.service.stream_results import ResultEntity
from emulator.service.streaming_settings import StreamSettings


@dataclass
class StreamToken:
    """One output item: word or punctuation; times in seconds."""

    kind: str  # pronunciation | punctuation
    content: str
    start: float
    end: float
    confidence: float  # 0-1
    stable: bool
    filter_match: bool = False
    speaker: str | None = None
    pii: tuple[str, float] | None = None  # (PiiEntityType, score)


class StreamPostProcessor:
    """The transforms one stream's settings ask for.

    settings: the stream's StreamSettings; vocabulary: emulator.service.vocabulary_tables.Vocabulary
    or None (DisplayAs); filter_words: the vocabulary filter's words; pii_detector:
    emulator.engine.pii.PiiDetector or None (no PII / PHI found then).
    """

    def __init__(self, settings: StreamSettings, vocabulary, filter_words: list[str], pii_detector) -> None:
        self.settings = settings
        self.vocabulary = vocabulary
        self.filter_words = filter_words
        self.pii_detector = pii_detector

    def transform(self, tokens: list[StreamToken], partial: bool) -> list[StreamToken]:
        """DisplayAs, vocabulary filter, PII (finals), through the batch transforms."""
        identify = not self.settings.medical and (
            self.settings.content_identification_type or self.settings.content_redaction_type
        )
        if not (self.vocabulary or self.filter_words or (identify and not partial)):
            return tokens
        results = as_batch_results(tokens)
        if self.vocabulary is not None:
            results = apply_display_as(results, self.vocabulary)
        if self.filter_words:
            results = apply_vocabulary_filter(results, self.filter_words, self.settings.vocabulary_filter_method)
        tokens = from_batch_results(results)
        if identify and not partial:
            self._find_pii(tokens)
        return tokens

    def entities(self, tokens: list[StreamToken], partial: bool) -> tuple[ResultEntity, ...] | None:
        """The result's Entities; None when the stream does not identify content (or on partials)."""
        if self.settings.medical:
            if self.settings.content_identification_type and not partial:
                return self._phi_entities(tokens)
            return None
        return self._pii_entities(tokens, partial)

    def _find_pii(self, tokens: list[StreamToken]) -> None:
        from emulator.service.redaction import REDACTED, detector_types, find_pii_items  # the batch finder

        detector = self.pii_detector
        if detector is None:
            return
        types = detector_types(list(self.settings.pii_entity_types) or None)
        items = [{"type": t.kind, "alternatives": [{"content": t.content}]} for t in tokens]
        found = find_pii_items(items, lambda item: item["alternatives"][0]["content"], detector, types, "en")
        for position, redaction in found.items():
            tokens[position].pii = (redaction.type, redaction.score)
        if self.settings.content_redaction_type:
            for token in tokens:
                if token.pii is not None:
                    token.content = REDACTED

    def _pii_entities(self, tokens: list[StreamToken], partial: bool) -> tuple[ResultEntity, ...] | None:
        identify = self.settings.content_identification_type or self.settings.content_redaction_type
        if not identify or partial:
            return None
        entities: list[ResultEntity] = []
        run: list[StreamToken] = []
        for token in [*tokens, None]:
            same = token is not None and token.pii is not None and run and token.pii[0] == run[-1].pii[0]
            if token is not None and token.kind == "punctuation" and run:
                continue
            if run and not same:
                entities.append(
                    ResultEntity(
                        start_time=round(run[0].start, 3),
                        end_time=round(run[-1].end, 3),
                        category="PHI" if self.settings.medical else "PII",
                        content=" ".join(t.content for t in run),
                        confidence=round(max(t.pii[1] for t in run), 4),
                        type=None if self.settings.medical else run[0].pii[0],
                    )
                )
                run = []
            if token is not None and token.pii is not None:
                run.append(token)
        return tuple(entities)

    def _phi_entities(self, tokens: list[StreamToken]) -> tuple[ResultEntity, ...]:
        """MedicalEntity list (PHI identification) from the batch PHI finder."""
        from emulator.service.phi import identify_phi

        detector = self.pii_detector
        if detector is None or not tokens:
            return ()
        found = identify_phi(as_batch_results(tokens), detector)
        return tuple(
            ResultEntity(
                start_time=round(e["startTime"], 3),
                end_time=round(e["endTime"], 3),
                category="PHI",
                content=e["content"],
                confidence=e["confidence"],
            )
            for e in found
        )


def tokens_from_words(words: tuple[StreamWord, ...]) -> list[StreamToken]:
    """Whisper words -> items: punctuation split off (as batch output does), word pieces
    ("ill" + "-disposed") joined; punctuation takes the time of the word before it."""
    tokens: list[StreamToken] = []
    for word in words:
        text = word.text
        if text[:1] in ("-", "'") and tokens and tokens[-1].kind == "pronunciation" and not text.startswith(" "):
            previous = tokens.pop()
            core, marks = split_word(previous.content + text)
            tokens.append(
                StreamToken("pronunciation", core, previous.start, word.end,
                            min(previous.confidence, word.confidence), previous.stable and word.stable)
            )
        else:
            core, marks = split_word(text)
            if core:
                tokens.append(StreamToken("pronunciation", core, word.start, word.end, word.confidence, word.stable))
        for mark in marks:
            if not tokens or (tokens[-1].kind == "punctuation" and tokens[-1].content == mark):
                continue
            tokens.append(StreamToken("punctuation", mark, word.end, word.end, 0.0, word.stable))
    return tokens


def as_batch_results(tokens: list[StreamToken]) -> dict:
    """Tokens as a batch transcript's `results` (what emulator.service.filtering transforms);
    each item carries its token's fields under "_token" so they survive the transforms."""
    items = []
    for i, token in enumerate(tokens):
        item: dict = {"id": i, "type": token.kind,
                      "alternatives": [{"confidence": format_confidence(token.confidence), "content": token.content}]}
        if token.kind == "pronunciation":
            item["start_time"] = format_seconds(token.start)
            item["end_time"] = format_seconds(token.end)
        item["_token"] = [token.start, token.end, token.confidence, token.stable]
        items.append(item)
    return {
        "transcripts": [{"transcript": join_items(items)}],
        "items": items,
        "audio_segments": [{"id": 0, "transcript": join_items(items), "items": [i for i in range(len(items))]}],
    }


def from_batch_results(results: dict) -> list[StreamToken]:
    tokens: list[StreamToken] = []
    for item in results["items"]:
        start, end, confidence, stable = item["_token"]
        if item["type"] == "pronunciation" and "end_time" in item:
            end = max(end, float(item["end_time"]))
        alternative = item["alternatives"][0]
        tokens.append(
            StreamToken(item["type"], alternative["content"], start, end,
                        float(alternative.get("confidence", confidence)), stable,
                        filter_match=bool(item.get("vocabularyFilterMatch")))
        )
    return tokens


def label_speakers(tokens: list[StreamToken], turns: list[tuple[int, float, float]]) -> None:
    """Each word takes the speaker of the turn it overlaps most (else the nearest turn);
    punctuation takes its word's. Labels are "0", "1", ... (AWS streaming's form)."""
    speaker = "0"
    for token in tokens:
        if token.kind == "pronunciation" and turns:
            best = max(turns, key=lambda t: (min(t[2], token.end) - max(t[1], token.start),
                                             -abs((t[1] + t[2]) / 2 - (token.start + token.end) / 2)))
            speaker = str(best[0])
        token.speaker = speaker
