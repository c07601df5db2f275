"""N-best alternative transcriptions of decoded segments: real beam-search hypotheses.

Knows nothing of AWS. Given the segments of a finished transcription, each segment's audio
is decoded again by CTranslate2's beam search asking for several finished hypotheses
(`num_hypotheses`, `return_scores`), under conditions close to those faster-whisper decoded
it in: the same log-Mel features and suppressed tokens, a prompt built by
`WhisperModel.get_prompt` from the text before (condition_on_previous_text), the initial
prompt and the hotwords, and, as inside faster-whisper's 30 s window, up to
`LEFT_CONTEXT_SECONDS` of the audio before the segment with the words already recognised
there forced as a prefix. Each hypothesis gets word timings from
`WhisperModel.add_word_timestamps` (cross-attention DTW via `find_alignment`), as the main
transcription's words do.

The re-decoding runs without timestamp tokens: in timestamp mode most beams differ only in a
timestamp (10 beams gave 2.5 distinct texts per segment on average, against 4.5 without).

Confidence of a hypothesis: exp(mean log-probability of the tokens the decoder generated for
it) - CTranslate2's beam score (the log-probability sum of its text tokens and end-of-text)
divided by the number of generated tokens, faster-whisper's length_penalty=1 normalisation.
It is the geometric mean of the token probabilities: 0..1, independent of how many
alternatives are asked for, ranking hypotheses as the beam search does.

Hypotheses that differ only in case or punctuation ("Terra thin" / "terra thin.") count as
one, spelled as the better-scored one; 2n + 2 beams are decoded to leave enough distinct
texts, and a segment may still get fewer than `n` hypotheses - clear speech often has only
one or two readings (AWS too returns up to MaxAlternatives).

The first hypothesis of a segment is always the segment as given (text and words
unchanged), so alternative 0 agrees with the transcript's items. Its confidence is its own
score where the beam search finds that text again, raised to the best other hypothesis's
where that is higher: one segment decoded alone does not see the whole window the main pass
saw, and prefers another text for some segments (21 of 38 segments of 13 recordings, hard
ones included, had the main text on top with tiny.en; 29 had it among 12 beams), while AWS
orders alternatives by descending confidence with its transcript first. Where the text is
not among the beams at all, its own score is the geometric mean of its word probabilities.

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
# Audio before a segment decoded with it, its words forced as a prefix: the main pass decoded
# most segments after others in the same window. 5 s made the main text the best hypothesis in
# 22 of 35 segments of hard audio (tiny.en, timestamp mode), against 16 with none; 15 s did no better.
LEFT_CONTEXT_SECONDS = 5.0
# Audio kept beyond the first and last word (DTW word boundaries are approximate), never
# reaching into the neighbouring words.
EDGE_PAD_SECONDS = 0.2
# Beams decoded for n alternatives: 2n + 2 (at least the main beam size). Most beams differ from
# another only in punctuation or case; with 5 beams jfk's clear speech gave no second text, with 6 one.
BEAMS_PER_ALTERNATIVE = 2
EXTRA_BEAMS = 2
# faster-whisper's defaults, as the Recognizer uses them.
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class Hypothesis:
    """One transcription of a segment. text: as Whisper spells it, stripped; words: timed
    (seconds from the start of the audio, inside the segment); confidence: 0..1."""

    text: str
    words: tuple[Word, ...]
    confidence: float


@dataclass(frozen=True)
class SegmentAlternatives:
    """The hypotheses of one main-transcription segment, by descending confidence, the first
    being the segment itself; start, end: the segment's, seconds."""

    start: float
    end: float
    hypotheses: tuple[Hypothesis, ...]


def normalized(text: str) -> str:
    """The words only: case folded, apostrophes dropped, other punctuation as space
    ("It's done." -> "its done"). Hypotheses with the same key are one alternative."""
    kept = []
    for char in unicodedata.normalize("NFKC", text).casefold():
        if char in "'’":
            continue
        kept.append(char if char.isalnum() else " ")
    return " ".join("".join(kept).split())


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
    language: ISO 639-1 code it decoded in (None: English on English-only models, detected
    per segment on multilingual ones); n: MaxAlternatives, 2..10; beam_size, initial_prompt,
    hotwords: the main decoding's options. Returns one entry per segment, in order.
    Raises ValueError for n outside 2..10. Blocking (one encoder pass per segment): run it
    in a worker thread.
    """
    if not MIN_ALTERNATIVES <= n <= MAX_ALTERNATIVES:
        raise ValueError(f"n must be in {MIN_ALTERNATIVES}..{MAX_ALTERNATIVES}, not {n}")
    duration = len(samples) / SAMPLE_RATE
    beams = max(beam_size, BEAMS_PER_ALTERNATIVE * n + EXTRA_BEAMS)
    out = []
    earlier: list[Word] = []  # the words of the segments before this one
    for index, segment in enumerate(segments):
        following = next((s.words[0].start for s in segments[index + 1 :] if s.words), duration)
        if not segment.words or not normalized(segment.text):
            hypotheses = (Hypothesis(segment.text.strip(), segment.words, _word_confidence(segment.words)),)
        else:
            hypotheses = _hypotheses(
                model, samples, segment, earlier, following, language, n, beams, initial_prompt, hotwords
            )
        out.append(SegmentAlternatives(segment.start, segment.end, hypotheses))
        earlier.extend(segment.words)
    return out


@dataclass(frozen=True)
class _Clip:
    """What one segment is decoded from: the samples from `offset` seconds of the audio, the
    earlier words heard in them (the forced prefix) and the words before those (the prompt)."""

    samples: np.ndarray
    offset: float
    prefix_words: list[Word]
    prompt_words: list[Word]


@dataclass(frozen=True)
class _Candidate:
    text: str
    tokens: list[int]  # text tokens generated after the prefix, no end-of-text
    score: float  # mean log-probability of the generated tokens


def _hypotheses(
    model: WhisperModel,
    samples: np.ndarray,
    segment: Segment,
    earlier: list[Word],
    following: float,
    language: str | None,
    n: int,
    beams: int,
    initial_prompt: str | None,
    hotwords: str | None,
) -> tuple[Hypothesis, ...]:
    clip = _clip(samples, segment, earlier, following)
    features = model.feature_extractor(clip.samples)
    num_frames = min(features.shape[-1] - 1, model.feature_extractor.nb_max_frames)
    encoder_output = model.encode(pad_or_trim(features[:, :num_frames]))
    if language is None and model.model.is_multilingual:
        language = model.model.detect_language(encoder_output)[0][0][0][2:-2]
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language or "en")

    prompt_text = "".join(w.text for w in clip.prompt_words)
    context = tokenizer.encode(" " + initial_prompt.strip()) if initial_prompt else []
    context += tokenizer.encode(prompt_text) if prompt_text.strip() else []
    prefix = _prefix(tokenizer, clip)
    prompt = model.get_prompt(tokenizer, context, without_timestamps=True, hotwords=hotwords) + prefix
    candidates = _decode(model, tokenizer, encoder_output, prompt, len(prefix), beams)

    main_key = normalized(segment.text)
    others = [c for c in candidates if normalized(c.text) != main_key][: n - 1]
    main_score = next((c.score for c in candidates if normalized(c.text) == main_key), None)
    if main_score is None:
        main_score = math.log(max(_word_confidence(segment.words), 1e-9))
    main_score = max([main_score] + [c.score for c in others])
    hypotheses = [Hypothesis(segment.text.strip(), segment.words, math.exp(main_score))]
    for candidate in others:
        words = _align(model, tokenizer, encoder_output, num_frames, clip, prefix, candidate)
        words = _into_segment(words, clip.offset, segment)
        if words:
            hypotheses.append(Hypothesis(candidate.text, words, math.exp(candidate.score)))
    return tuple(hypotheses)


def _word_confidence(words: Sequence[Word]) -> float:
    """Geometric mean of word probabilities; 0.0 without words."""
    if not words:
        return 0.0
    return math.exp(sum(math.log(max(w.probability, 1e-9)) for w in words) / len(words))


def _clip(samples: np.ndarray, segment: Segment, earlier: list[Word], following: float) -> _Clip:
    """The segment's audio with up to LEFT_CONTEXT_SECONDS before it, padded a little without
    reaching into the next segment's words, at most one window long."""
    end = max(segment.end, min(following, segment.end + EDGE_PAD_SECONDS))
    limit = max(segment.start - LEFT_CONTEXT_SECONDS, end - WINDOW_SECONDS + EDGE_PAD_SECONDS)
    first = len(earlier)
    while first > 0 and earlier[first - 1].start >= limit:
        first -= 1
    opening = earlier[first].start if first < len(earlier) else segment.start
    floor = earlier[first - 1].end if first > 0 else 0.0
    start = max(0.0, floor, opening - EDGE_PAD_SECONDS, end - WINDOW_SECONDS)
    begin, stop = int(round(start * SAMPLE_RATE)), int(round(end * SAMPLE_RATE))
    return _Clip(
        np.ascontiguousarray(samples[begin:stop], dtype=np.float32),
        begin / SAMPLE_RATE,
        earlier[first:],
        earlier[max(0, first - 400) : first],  # get_prompt keeps the last 223 tokens
    )


def _prefix(tokenizer: Tokenizer, clip: _Clip) -> list[int]:
    """The earlier words heard in the clip, forced as the start of every hypothesis."""
    text = "".join(w.text for w in clip.prefix_words)
    return tokenizer.encode(text) if text.strip() else []


def _decode(
    model: WhisperModel,
    tokenizer: Tokenizer,
    encoder_output,
    prompt: list[int],
    prefix_length: int,
    beams: int,
) -> list[_Candidate]:
    """Beam search returning `beams` finished hypotheses; one per distinct text, best first."""
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
    )[0]
    scored = []
    for sequence, score in zip(result.sequences_ids, result.scores):
        # The score is the generated tokens' log-probability sum over the whole sequence's
        # length (the prefix included): back to a mean over the generated tokens.
        generated = list(sequence[prefix_length:])
        if generated:
            scored.append((score * len(sequence) / len(generated), generated))
    candidates, seen = [], set()
    for score, tokens in sorted(scored, key=lambda pair: -pair[0]):
        text = tokenizer.decode(tokens).strip()
        key = normalized(text)
        if key and key not in seen:
            seen.add(key)
            candidates.append(_Candidate(text, tokens, float(score)))
    return candidates


def _align(
    model: WhisperModel,
    tokenizer: Tokenizer,
    encoder_output,
    num_frames: int,
    clip: _Clip,
    prefix: list[int],
    candidate: _Candidate,
) -> list[dict]:
    """faster-whisper's word timing of the candidate, aligned after the prefix as one
    sequence: seconds in the clip."""
    subsegments = []
    start = 0.0
    if prefix:
        start = clip.prefix_words[-1].end - clip.offset
        subsegments.append(
            {"seek": 0, "start": clip.prefix_words[0].start - clip.offset, "end": start, "tokens": prefix}
        )
    end = num_frames / model.frames_per_second
    subsegments.append({"seek": 0, "start": start, "end": end, "tokens": candidate.tokens})
    model.add_word_timestamps(
        [subsegments],
        tokenizer,
        encoder_output,
        num_frames,
        PREPEND_PUNCTUATIONS,
        APPEND_PUNCTUATIONS,
        last_speech_timestamp=0.0,
    )
    return subsegments[-1]["words"]


def _into_segment(words: list[dict], offset: float, segment: Segment) -> tuple[Word, ...]:
    """Clip times -> times in the audio, kept inside the segment and in order."""
    out = []
    floor = segment.start
    for word in words:
        start = min(max(word["start"] + offset, floor), segment.end)
        end = min(max(word["end"] + offset, start), segment.end)
        out.append(Word(round(start, 3), round(end, 3), word["word"], float(word["probability"])))
        floor = end
    return tuple(out)
