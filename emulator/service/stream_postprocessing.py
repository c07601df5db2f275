"""Post-processing of streamed results: DisplayAs, vocabulary filter, PII / PHI, speaker labels.

Works on `emulator.service.tokens.Token`s (the engine's words with punctuation split off,
`tokens_from_words`) with the token functions batch uses too (`emulator.service.filtering`,
`redaction`, `phi`); the session renders the final tokens as typed results.

Sources: AWS docs "Using custom vocabularies", "Filtering unwanted words", "Redacting or
identifying PII in a real-time stream" (PII on final results only), digest §5.6.
"""

from __future__ import annotations

from dataclasses import replace

from emulator.engine.streaming import StreamWord
from emulator.service.filtering import display_as, vocabulary_filter
from emulator.service.output import split_word
from emulator.service.phi import phi_entities
from emulator.service.redaction import find_pii, redact
from emulator.service.stream_results import ResultEntity
from emulator.service.streaming_settings import StreamSettings
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Token


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

    def transform(self, tokens: list[Token], partial: bool) -> list[Token]:
        """DisplayAs, vocabulary filter, PII (finals): `tokens` as the result shows them."""
        if self.vocabulary is not None:
            tokens = display_as(tokens, self.vocabulary)
        if self.filter_words:
            tokens = vocabulary_filter(tokens, self.filter_words, self.settings.vocabulary_filter_method)
        if self._identifies_pii() and not partial and self.pii_detector is not None:
            tokens = find_pii(tokens, self.pii_detector, list(self.settings.pii_entity_types) or None, "en")
            if self.settings.content_redaction_type:
                tokens = redact(tokens)
        return tokens

    def entities(self, tokens: list[Token], partial: bool) -> tuple[ResultEntity, ...] | None:
        """The result's Entities; None when the stream does not identify content (or on partials)."""
        if self.settings.medical:
            if self.settings.content_identification_type and not partial:
                return self._phi_entities(tokens)
            return None
        if not self._identifies_pii() or partial:
            return None
        return _pii_entities(tokens)

    def _identifies_pii(self) -> bool:
        return not self.settings.medical and bool(
            self.settings.content_identification_type or self.settings.content_redaction_type
        )

    def _phi_entities(self, tokens: list[Token]) -> tuple[ResultEntity, ...]:
        """MedicalEntity list (PHI identification)."""
        if self.pii_detector is None or not tokens:
            return ()
        return tuple(
            ResultEntity(
                start_time=round(max(e.start, 0.0), 3),
                end_time=round(max(e.end, 0.0), 3),
                category="PHI",
                content=e.content,
                confidence=round(e.score, 4),
            )
            for e in phi_entities(tokens, self.pii_detector)
        )


def _pii_entities(tokens: list[Token]) -> tuple[ResultEntity, ...]:
    """One Entity per run of words of one PII type (punctuation inside a run is skipped)."""
    entities: list[ResultEntity] = []
    run: list[Token] = []
    for token in [*tokens, None]:
        same = token is not None and token.pii is not None and run and token.pii.type == run[-1].pii.type
        if token is not None and token.kind == PUNCTUATION and run:
            continue
        if run and not same:
            entities.append(
                ResultEntity(
                    start_time=round(run[0].start, 3),
                    end_time=round(run[-1].end, 3),
                    category="PII",
                    content=" ".join(t.content for t in run),
                    confidence=round(max(t.pii.score for t in run), 4),
                    type=run[0].pii.type,
                )
            )
            run = []
        if token is not None and token.pii is not None:
            run.append(token)
    return tuple(entities)


def tokens_from_words(words: tuple[StreamWord, ...]) -> list[Token]:
    """Whisper words -> tokens: punctuation split off (as batch output does), word pieces
    ("ill" + "-disposed") joined; punctuation takes the time of the word before it."""
    tokens: list[Token] = []
    for word in words:
        text = word.text
        if text[:1] in ("-", "'") and tokens and tokens[-1].kind == PRONUNCIATION and not text.startswith(" "):
            previous = tokens.pop()
            core, marks = split_word(previous.content + text)
            tokens.append(
                Token(PRONUNCIATION, core, min(previous.confidence, word.confidence), previous.start, word.end,
                      stable=previous.stable and word.stable)
            )
        else:
            core, marks = split_word(text)
            if core:
                tokens.append(Token(PRONUNCIATION, core, word.confidence, word.start, word.end, stable=word.stable))
        for mark in marks:
            if not tokens or (tokens[-1].kind == PUNCTUATION and tokens[-1].content == mark):
                continue
            tokens.append(Token(PUNCTUATION, mark, 0.0, word.end, word.end, stable=word.stable))
    return tokens


def label_speakers(tokens: list[Token], turns: list[tuple[int, float, float]]) -> list[Token]:
    """`tokens` with `speaker`: each word takes the speaker of the turn it overlaps most (else
    the nearest turn); punctuation takes its word's. Labels are "0", "1", ... (AWS streaming's
    form, unlike batch's spk_N of emulator.service.speakers). turns: (speaker, start, end) in seconds."""
    speaker = "0"
    out: list[Token] = []
    for token in tokens:
        if token.kind == PRONUNCIATION and turns:
            best = max(turns, key=lambda t: (min(t[2], token.end) - max(t[1], token.start),
                                             -abs((t[1] + t[2]) / 2 - (token.start + token.end) / 2)))
            speaker = str(best[0])
        out.append(replace(token, speaker=speaker))
    return out
