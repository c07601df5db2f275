"""Spoken-language identification with a multilingual Whisper model: samples in, scores out.

Knows nothing of AWS: languages are Whisper's codes (ISO 639-1 where one exists, "en",
"de"); the service maps them to and from Transcribe's codes ("en-US") and words failures.

Whisper identifies a language from one 30 s window. Here the speech is found first (Silero
VAD), so silence and music do not dominate a window, and several windows are scored and
averaged. Pure functions: the model is passed in and nothing is cached, so concurrent calls
are safe (CTranslate2 and the VAD's ONNX session serve concurrent callers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.vad import VadOptions, get_speech_timestamps

from emulator.engine.media import SAMPLE_RATE

WINDOW_SECONDS = 30.0  # what one Whisper encoder pass sees
SPEECH_PAD_SECONDS = 0.2  # context kept around each detected speech region


class NoSpeechError(Exception):
    """The audio holds too little speech to identify a language (AWS fails such a job)."""

    def __init__(self, speech_seconds: float, min_speech_seconds: float):
        super().__init__(f"{speech_seconds:.2f} s of speech found; at least {min_speech_seconds:.2f} s is needed")
        self.speech_seconds = speech_seconds
        self.min_speech_seconds = min_speech_seconds


@dataclass(frozen=True)
class LanguageScore:
    language: str  # Whisper's code: ISO 639-1 where one exists ("de"), else 3 letters ("haw")
    probability: float  # 0..1; the scores of one answer sum to 1


@dataclass(frozen=True)
class LanguageSpan:
    """A stretch of the audio in one language: start, end in seconds from the start."""

    language: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def identify_language(
    model: WhisperModel,
    samples: np.ndarray,
    candidates: list[str] | None = None,
    *,
    max_windows: int = 3,
    min_speech_seconds: float = 0.5,
) -> list[LanguageScore]:
    """The languages of `samples`, most probable first.

    samples: float32 mono 16 kHz, shape (n,). The speech (VAD) is joined and cut into equal
    windows of at most 30 s; up to `max_windows` of them, spread over the audio, are
    scored and their probabilities averaged. candidates: codes to choose among (AWS
    LanguageOptions); the answer then holds only those, renormalised to sum to 1.
    Without candidates, every language the model knows is listed.

    Raises NoSpeechError when VAD finds less than `min_speech_seconds` of speech;
    ValueError for an English-only model or a candidate the model does not know.
    Cost: one encoder pass per window scored (about 0.3 to 1 s each for "base" on CPU).
    """
    _check(model, candidates)
    regions = _speech_regions(samples, min_silence_ms=2000, min_speech_seconds=min_speech_seconds)
    speech = np.concatenate([samples[a:b] for a, b in regions])
    n_windows = math.ceil(len(speech) / (WINDOW_SECONDS * SAMPLE_RATE))
    bounds = np.linspace(0, len(speech), n_windows + 1).astype(int)
    chosen = np.unique(np.linspace(0, n_windows - 1, min(max_windows, n_windows)).round().astype(int))
    totals: dict[str, float] = {}
    for i in chosen:
        for language, p in _window_probabilities(model, speech[bounds[i] : bounds[i + 1]]).items():
            totals[language] = totals.get(language, 0.0) + p / len(chosen)
    return _ranked(totals, candidates)


def identify_language_spans(
    model: WhisperModel,
    samples: np.ndarray,
    candidates: list[str] | None = None,
    window_seconds: float = 10.0,
    *,
    min_speech_seconds: float = 0.5,
) -> list[LanguageSpan]:
    """Where each language is spoken (AWS IdentifyMultipleLanguages), in time order.

    samples: float32 mono 16 kHz, shape (n,). Speech regions (VAD, split at pauses of
    0.5 s or more) are packed into windows of half to all of `window_seconds` of speech (a
    longer region is cut into equal parts); each window gets its most probable language
    (among `candidates` when given), and neighbouring windows in the same language merge
    into one span, the pause between them included. Pauses between spans of different
    languages and the silence before the first and after the last belong to no span.
    Shorter windows place a switch more precisely but score less reliably (Whisper sees
    less speech); each window costs one encoder pass.

    Raises NoSpeechError and ValueError as `identify_language` does.
    """
    if window_seconds <= 0 or window_seconds > WINDOW_SECONDS:
        raise ValueError(f"window_seconds must be in (0, {WINDOW_SECONDS:g}]")
    _check(model, candidates)
    regions = _speech_regions(samples, min_silence_ms=500, min_speech_seconds=min_speech_seconds)
    spans: list[LanguageSpan] = []
    for window in _pack(regions, int(window_seconds * SAMPLE_RATE)):
        speech = np.concatenate([samples[a:b] for a, b in window])
        language = _ranked(_window_probabilities(model, speech), candidates)[0].language
        start, end = window[0][0] / SAMPLE_RATE, window[-1][1] / SAMPLE_RATE
        if spans and spans[-1].language == language:
            spans[-1] = LanguageSpan(language, spans[-1].start, end)
        else:
            spans.append(LanguageSpan(language, start, end))
    return spans


# --- helpers -----------------------------------------------------------------------


def _check(model: WhisperModel, candidates: list[str] | None) -> None:
    if not model.model.is_multilingual:
        raise ValueError("language identification needs a multilingual model")
    if candidates is not None:
        if not candidates:
            raise ValueError("candidates is empty")
        unknown = sorted(set(candidates) - set(model.supported_languages))
        if unknown:
            raise ValueError(f"languages the model does not know: {unknown}")


def _speech_regions(samples: np.ndarray, min_silence_ms: int, min_speech_seconds: float) -> list[tuple[int, int]]:
    """Speech as (start, end) sample indices, padded a little and merged where pads meet."""
    found = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=0))
    speech_seconds = sum(r["end"] - r["start"] for r in found) / SAMPLE_RATE
    # Measured before padding: the pads are silence, and they would let a click pass.
    if speech_seconds < min_speech_seconds:
        raise NoSpeechError(speech_seconds, min_speech_seconds)
    pad = int(SPEECH_PAD_SECONDS * SAMPLE_RATE)
    regions: list[tuple[int, int]] = []
    for r in found:
        start, end = max(0, r["start"] - pad), min(len(samples), r["end"] + pad)
        if regions and start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return regions


def _pack(regions: list[tuple[int, int]], limit: int) -> list[list[tuple[int, int]]]:
    """Groups consecutive regions into windows of `limit / 2` to `limit` samples of speech
    (fewer only where a region is short and the next would overflow, or at the end)."""
    pieces: list[tuple[int, int]] = []
    for start, end in regions:
        parts = math.ceil((end - start) / limit)
        cuts = np.linspace(start, end, parts + 1).astype(int)
        pieces.extend(zip(cuts[:-1].tolist(), cuts[1:].tolist()))
    windows: list[list[tuple[int, int]]] = []
    filled = limit  # forces a new window for the first piece
    for start, end in pieces:
        # Closing a window once it is half full keeps most windows within one
        # pause-bounded stretch, so a language switch at a pause rarely falls inside one.
        if filled >= limit / 2 or filled + (end - start) > limit:
            windows.append([])
            filled = 0
        windows[-1].append((start, end))
        filled += end - start
    return windows


def _window_probabilities(model: WhisperModel, speech: np.ndarray) -> dict[str, float]:
    """Whisper's language probabilities for one window of at most 30 s (no VAD: done)."""
    # threshold 0: stop after the first (only) window; all_probs covers every language.
    _, _, all_probs = model.detect_language(
        audio=speech, vad_filter=False, language_detection_segments=1, language_detection_threshold=0.0
    )
    return {language: float(p) for language, p in all_probs}


def _ranked(probabilities: dict[str, float], candidates: list[str] | None) -> list[LanguageScore]:
    if candidates is not None:
        probabilities = {c: probabilities.get(c, 0.0) for c in dict.fromkeys(candidates)}
    total = sum(probabilities.values())
    if total <= 0.0:  # every candidate underflowed: no preference among them
        probabilities, total = {c: 1.0 for c in probabilities}, float(len(probabilities))
    scores = [LanguageScore(language, p / total) for language, p in probabilities.items()]
    return sorted(scores, key=lambda s: s.probability, reverse=True)
