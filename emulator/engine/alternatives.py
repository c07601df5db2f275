"""N-best alternative transcriptions of decoded segments: real beam-search hypotheses.

Knows nothing of AWS. Given the segments of a finished transcription, each segment's audio
is decoded again with CTranslate2's beam search asking for several finished hypotheses
(`num_hypotheses`, `return_scores`), under the conditions faster-whisper decoded it in:
the same log-Mel features, timestamp mode, suppressed tokens, and a prompt built by
`WhisperModel.get_prompt` from the preceding segments' text (condition_on_previous_text),
the initial prompt and the hotwords. Each hypothesis gets word timings from
`WhisperModel.add_word_timestamps` (cross-attention DTW via `find_alignment`), exactly as
the main transcription's words do.

Confidence of a hypothesis: exp(score), where score is CTranslate2's beam score with
length_penalty=1, i.e. the sum of the token log-probabilities (text, timestamps and
end-of-text) divided by the number of generated tokens. So the confidence is the geometric
mean of the token probabilities, in 0..1, independent of how many alternatives are asked
for, and ranks hypotheses exactly as the beam search ranked them.

Hypotheses that differ only in case or punctuation ("Terra thin" / "terra thin.") count as
one: the better-scored spelling is kept. Whisper's beams often differ only so, or only in a
timestamp token, so more beams than alternatives are decoded; a segment may still end up
with fewer than `n` (AWS too returns up to MaxAlternatives).

The first hypothesis of a segment is always that segment's transcript as given (its words,
times and probabilities unchanged), so alternative 0 agrees with the transcript's items. Its
confidence is its beam score when the beam search found it again (the usual case); a clip
decoded alone can rank or miss it differently from the windowed main decoding, and then it
takes the best score among the others (see `_MAIN_SCORE_NOTE` below).

Pure function: the model is passed in and nothing is cached; CTranslate2 serves concurrent
callers, so concurrent calls are safe.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.recognizer import Segment, Word

MIN_ALTERNATIVES = 2
MAX_ALTERNATIVES = 10  # AWS: MaxAlternatives 2..10
WINDOW_SECONDS = 30.0  # what one Whisper encoder pass sees
# Audio kept beyond a segment's first and last word (word boundaries from DTW are approximate),
# never reaching into the neighbouring segment.
EDGE_PAD_SECONDS = 0.2
# faster-whisper's defaults, as the Recognizer uses them.
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
MAX_INITIAL_TIMESTAMP = 1.0  # seconds
# Whisper's beams often differ only in a timestamp token or punctuation; decoding more beams
# than alternatives leaves enough distinct texts.
BEAMS_PER_ALTERNATIVE = 2

# Why the main transcript's confidence may be lifted: AWS's first alternative is its transcript
# and alternatives come in descending confidence. The main decoding saw a 30 s window; the clip
# decoded here alone can prefer (or miss) another text. The first alternative then stays the
# transcript and is given the best confidence of the clip's hypotheses, keeping AWS's order.
_MAIN_SCORE_NOTE = "main transcript first; confidence lifted to the best when the clip ranks it lower"


@dataclass(frozen=True)
class Hypothesis:
    """One transcription of a segment. text: as Whisper spells it, stripped; words: timed
    (seconds from the start of the audio); confidence: exp(mean token log-prob), 0..1."""

    text: str
    words: tuple[Word, ...]
    confidence: float


@dataclass(frozen=True)
class SegmentAlternatives:
    """The hypotheses of one main-transcription segment, best first; start, end: seconds
    (the segment's own)."""

    start: float
    end: float
    hypotheses: tuple[Hypothesis, ...]


def normalized(text: str) -> str:
    """The words only: case folded, apostrophes dropped, other punctuation as space
    ("It's done." -> "its done"). Two hypotheses with the same key are one alternative."""
    out = []
    for char in unicodedata.normalize("NFKC", text).casefold():
        if char in "'’":
            continue
        out.append(char if char.isalnum() else " ")
    return " ".join("".join(out).split())


@dataclass(frozen=True)
class _Clip:
    """The audio decoded for one segment: samples from `offset` seconds of the original."""

    samples: np.ndarray
    offset: float


@dataclass(frozen=True)
class _Candidate:
    text: str
    tokens: list[int]  # as generated: text and timestamp tokens, no end-of-text
    score: float  # mean token log-prob


def n_best(
    model: WhisperModel,
    samples: np.ndarray,
    segments: Sequence[Segment],
    language: str | None,
    n: int,
    beam_size: int = 5,
    *,
    initial_prompt: str | None = None,
    hotwords: str | None = None,
) -> list[SegmentAlternatives]:
    """Up to `n` hypotheses for each segment, best first, the first being the segment itself.

    model: the WhisperModel that decoded `segments`; samples: float32 mono 16 kHz, the audio
    the segments' times refer to; segments: the main transcription's, in time order;
    language: ISO 639-1 code decoded in (None: "en" on English-only models, detected per
    segment on multilingual ones); n: MaxAlternatives, 2..10; beam_size, initial_prompt,
    hotwords: the main decoding's options. Returns one entry per segment, same order.
    Raises ValueError for n outside 2..10. Blocking: run it in a worker thread.
    """
    if not MIN_ALTERNATIVES <= n <= MAX_ALTERNATIVES:
        raise ValueError(f"n must be in {MIN_ALTERNATIVES}..{MAX_ALTERNATIVES}, not {n}")
    beams = max(beam_size, BEAMS_PER_ALTERNATIVE * n)
    base_tokenizer = _tokenizer(model, language or "en")
    context = base_tokenizer.encode(" " + initial_prompt.strip()) if initial_prompt else []
    out: list[SegmentAlternatives] = []
    previous_end = 0.0
    for index, segment in enumerate(segments):
        following_start = segments[index + 1].start if index + 1 < len(segments) else len(samples) / SAMPLE_RATE
        clip = _clip(samples, segment, previous_end if index else 0.0, following_start)
        hypotheses = _segment_hypotheses(
            model, clip, segment, language, list(context), n, beams, hotwords, previous_end - clip.offset
        )
        out.append(SegmentAlternatives(segment.start, segment.end, hypotheses))
        context.extend(base_tokenizer.encode(" " + segment.text.strip()))
        previous_end = segment.end
    return out


def _tokenizer(model: WhisperModel, language: str) -> Tokenizer:
    return Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)


def _clip(samples: np.ndarray, segment: Segment, previous_end: float, following_start: float) -> _Clip:
    """The segment's audio, padded a little on each side without reaching its neighbours'
    words, at most one window long."""
    start = max(0.0, min(segment.start, max(previous_end, segment.start - EDGE_PAD_SECONDS)))
    end = max(segment.end, min(following_start, segment.end + EDGE_PAD_SECONDS))
    end = min(end, start + WINDOW_SECONDS)
    first, last = int(round(start * SAMPLE_RATE)), int(round(end * SAMPLE_RATE))
    return _Clip(np.ascontiguousarray(samples[first:last], dtype=np.float32), first / SAMPLE_RATE)


def _segment_hypotheses(
    model: WhisperModel,
    clip: _Clip,
    segment: Segment,
    language: str | None,
    context: list[int],
    n: int,
    beams: int,
    hotwords: str | None,
    last_speech: float,
) -> tuple[Hypothesis, ...]:
    features = model.feature_extractor(clip.samples)
    num_frames = min(features.shape[-1] - 1, model.feature_extractor.nb_max_frames)
    encoder_output = model.encode(pad_or_trim(features[:, :num_frames]))
    if language is None and model.model.is_multilingual:
        language = model.model.detect_language(encoder_output)[0][0][0][2:-2]
    tokenizer = _tokenizer(model, language or "en")
    candidates = _decode(model, tokenizer, encoder_output, context, beams, hotwords)

    main_key = normalized(segment.text)
    main_score = next((c.score for c in candidates if normalized(c.text) == main_key), None)
    others = [c for c in candidates if normalized(c.text) != main_key][: n - 1]
    best_other = max((c.score for c in others), default=None)
    if main_score is None or (best_other is not None and best_other > main_score):
        # See _MAIN_SCORE_NOTE: the transcript stays first, never below an alternative.
        main_score = best_other if best_other is not None else 0.0
    main = Hypothesis(segment.text.strip(), segment.words, math.exp(main_score))

    timed = _word_timings(model, tokenizer, encoder_output, num_frames, others, last_speech)
    hypotheses = [main]
    for candidate, words in zip(others, timed):
        words = _to_segment(words, clip.offset, segment)
        if words:
            hypotheses.append(Hypothesis(candidate.text, words, math.exp(candidate.score)))
    return tuple(hypotheses)


def _decode(
    model: WhisperModel,
    tokenizer: Tokenizer,
    encoder_output,
    context: list[int],
    beams: int,
    hotwords: str | None,
) -> list[_Candidate]:
    """Beam search returning `beams` finished hypotheses, one per distinct text, best first."""
    prompt = model.get_prompt(tokenizer, context, without_timestamps=False, prefix=None, hotwords=hotwords)
    result = model.model.generate(
        encoder_output,
        [prompt],
        beam_size=beams,
        num_hypotheses=beams,
        length_penalty=1.0,
        max_length=model.max_length,
        return_scores=True,
        suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        max_initial_timestamp_index=int(round(MAX_INITIAL_TIMESTAMP / model.time_precision)),
    )[0]
    seen: set[str] = set()
    candidates = []
    for tokens, score in sorted(zip(result.sequences_ids, result.scores), key=lambda pair: -pair[1]):
        text = tokenizer.decode(tokens).strip()
        key = normalized(text)
        if not key or key in seen:
            continue
        seen.add(key)
        candidates.append(_Candidate(text, list(tokens), float(score)))
    return candidates


def _word_timings(
    model: WhisperModel,
    tokenizer: Tokenizer,
    encoder_output,
    num_frames: int,
    candidates: list[_Candidate],
    last_speech: float,
) -> list[list[dict]]:
    """faster-whisper's word timing for each candidate: seconds from the clip's start."""
    out = []
    for candidate in candidates:
        stamps = [t for t in candidate.tokens if t >= tokenizer.timestamp_begin]
        start = (stamps[0] - tokenizer.timestamp_begin) * model.time_precision if stamps else 0.0
        end = (stamps[-1] - tokenizer.timestamp_begin) * model.time_precision if stamps else num_frames / model.frames_per_second
        subsegment = {"seek": 0, "start": start, "end": end, "tokens": candidate.tokens}
        model.add_word_timestamps(
            [[subsegment]],
            tokenizer,
            encoder_output,
            num_frames,
            PREPEND_PUNCTUATIONS,
            APPEND_PUNCTUATIONS,
            last_speech_timestamp=last_speech,
        )
        out.append(subsegment["words"])
    return out


def _to_segment(words: list[dict], offset: float, segment: Segment) -> tuple[Word, ...]:
    """Clip times -> times in the audio, kept inside the segment and in order."""
    out: list[Word] = []
    floor = segment.start
    for word in words:
        start = min(max(word["start"] + offset, floor), segment.end)
        end = min(max(word["end"] + offset, start), segment.end)
        out.append(Word(round(start, 3), round(end, 3), word["word"], float(word["probability"])))
        floor = end
    return tuple(out)
