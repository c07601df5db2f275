"""Where a transcript's segments end, where its words start and end, and which channel a word
belongs to, on tokens. Pure (numpy for the channels' energy).

* `split_at_pauses`: Whisper's segments are windows of decoding, not utterances: one may run
  over several seconds of silence (a word at 9.5 s and the next at 28.8 s). AWS's
  `audio_segments` and speaker segments end at pauses (the recorded LocalStack output:
  a 0.37 s pause at a speaker change ends a segment). A gap of more than `PAUSE` seconds
  between two words, mostly silent by the VAD, starts a new audio segment (and one mostly
  without the speaker's own turns a new speaker segment: emulator.service.speakers). 1.0 s, measured on the shared audio
  (bench/diarization.py, issue 15): no pause inside one reader's sentence of the shared
  single-talker items exceeds it, while the pauses between turns of a conversation mostly do.
* `snap_to_speech`: Whisper's word times run on into the silence around a word (seconds at
  times); every job's words are cut to the VAD's speech (emulator.service.pipeline), a
  ShowSpeakerLabels job's also to the diarizer's turns (emulator.service.speakers), which
  contain those regions: the same words keep the same times with and without speaker labels.
* `end_failed_alignments`: a "word" over LONGEST_WORD seconds that runs over the words after
  it is a lost alignment, not speech; it ends where the next word starts.
* `drop_crosstalk`: under ChannelIdentification each channel is transcribed on its own, and
  two people in one room reach both microphones: the other talker's voice, 10 to 20 dB down,
  is transcribed on a channel too. A word is crosstalk when the other channel is clearly
  louder over its time span (`CROSSTALK_DB`), or when the other channel has the same word at
  an overlapping time and is louder there (`TWIN_DB`): it stays on the channel where it is
  loudest. Identical channels (dual mono) keep their words on both. Where the pipeline has
  cancelled a channel's leak before recognition (emulator.engine.crosstalk), what counts is
  whether the word's sound survived the cancellation (`RESIDUE_DB`), not which channel is
  louder: where both talk at once, a quiet word of a channel's own talker is quieter than the
  other channel, and the level rule dropped it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from emulator.engine.missed_speech import LONGEST_WORD
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Token

PAUSE = 1.0  # seconds of silence between two words that end an audio segment
# A word on a channel whose energy over the word is this many dB below the other channel's is
# the other talker heard from afar. Same-room leakage measures 10-20 dB; two people talking at
# once at their own microphones differ by less than 6 dB (bench/batch.py --accuracy, stereo mixes).
CROSSTALK_DB = 8.0
# The same word on both channels goes to the louder one only when they differ by more than
# this: a dual-mono file (jfk.flac) has the same words at the same level on both, and keeps them.
TWIN_DB = 3.0
# On a channel whose leak was cancelled, a word whose span lost more than this much of its
# energy in the cancellation was the other talker's. Measured on the stereo mixes of
# bench/meetings.py: the own talker's words lose 0 to 2.5 dB (a quiet word under the other
# talker), the leak's 5 to 30 dB; a reverberant leak is cancelled by about 10 dB.
RESIDUE_DB = 4.0
LEAST_SPAN = 0.1  # seconds: a word's level is measured over at least this span around it
_SAME_WORD = re.compile(r"[^\w']+")


def covered(spans: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] inside the union of `spans` ((start, end) seconds, sorted, not
    overlapping)."""
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)


def split_at_pauses(
    tokens: list[Token],
    pause: float = PAUSE,
    speech: Sequence[tuple[float, float]] | Callable[[float, float], Sequence[tuple[float, float]]] | None = None,
) -> list[Token]:
    """`tokens` with `segment` renumbered from 0 so that a segment also ends where more than
    `pause` seconds pass between two consecutive words of it (punctuation goes with the word
    before it). speech: where the VAD heard speech ((start, end) seconds, sorted): then a gap
    counts only when less than half of it is speech (words the recognizer missed are no
    pause); or a callable (start, end) -> speech regions covering at least that span, asked
    only about gaps longer than `pause` (so the VAD runs only when some gap needs it). Order and
    everything else unchanged."""
    speech_in = speech if callable(speech) else (lambda start, end: speech)
    out: list[Token] = []
    number = -1
    previous_segment = None
    last_end: float | None = None
    for token in tokens:
        gap = (
            token.kind == PRONUNCIATION
            and token.start is not None
            and last_end is not None
            and token.start - last_end > pause
            and (
                speech is None
                or covered(speech_in(last_end, token.start), last_end, token.start) < (token.start - last_end) / 2
            )
        )
        if token.segment != previous_segment or gap:
            number += 1
            last_end = None
        previous_segment = token.segment
        if token.kind == PRONUNCIATION and token.end is not None:
            last_end = token.end
        out.append(replace(token, segment=number) if token.segment != number else token)
    return out


def _rms_db(samples: np.ndarray, start: float, end: float, rate: int) -> float:
    lo, hi = int(start * rate), max(int(end * rate), int(start * rate) + 1)
    piece = samples[lo:hi].astype(np.float64)
    return 10.0 * np.log10(float(np.mean(piece**2)) + 1e-12) if len(piece) else -120.0


def _normal(content: str) -> str:
    return _SAME_WORD.sub("", content.lower())


def _span(token: Token) -> tuple[float, float]:
    """The word's (start, end) seconds, widened to LEAST_SPAN around its middle when shorter."""
    if token.end - token.start >= LEAST_SPAN:
        return token.start, token.end
    middle = (token.start + token.end) / 2
    return max(0.0, middle - LEAST_SPAN / 2), middle + LEAST_SPAN / 2


def heard_from_afar(token: Token, own: np.ndarray, other: np.ndarray, rate: int, margin: float = CROSSTALK_DB) -> bool:
    """True when `other` (the other channel's samples, float32, as `own`: same start and rate)
    is more than `margin` dB louder than `own` over the word's span (token times in seconds
    from the samples' start): the word is the other talker's voice leaked into this channel.
    The level rule of `drop_crosstalk` for a channel whose leak was not cancelled."""
    start, end = _span(token)
    return _rms_db(own, start, end, rate) - _rms_db(other, start, end, rate) < -margin


def cancelled_away(token: Token, heard: np.ndarray, cleaned: np.ndarray, rate: int) -> bool:
    """True when the word's span lost more than RESIDUE_DB of its energy from `heard` (a
    channel as recorded, float32) to `cleaned` (the same channel less the other talker's leak,
    emulator.engine.crosstalk; same start and rate; token times in seconds from the start):
    the word was the leak's. The rule of `drop_crosstalk` for a cancelled channel."""
    start, end = _span(token)
    return _rms_db(cleaned, start, end, rate) - _rms_db(heard, start, end, rate) < -RESIDUE_DB


def drop_crosstalk(
    tokens: list[Token],
    channels: np.ndarray,
    rate: int,
    labels: tuple[str, ...],
    margin: float = CROSSTALK_DB,
    cleaned: np.ndarray | None = None,
    applied: Sequence[bool] = (),
) -> list[Token]:
    """`tokens` of a two-channel job (each with `channel` one of `labels`, channel i of
    `channels` (channels, n) float32 at `rate` Hz) less the words the other channel heard
    louder (module docstring); punctuation goes with the word before it. Segments left
    without a word disappear. One channel: `tokens` unchanged. cleaned: `channels` after
    crosstalk cancellation ((channels, n), emulator.engine.crosstalk), with `applied[i]` true
    where channel i's leak was cancelled: the words of such a channel are judged by how much
    of their sound the cancellation removed (`RESIDUE_DB`) instead."""
    if channels.shape[0] != 2 or len(labels) != 2:
        return tokens
    index = {label: i for i, label in enumerate(labels)}
    words = [(i, t) for i, t in enumerate(tokens) if t.kind == PRONUNCIATION and t.start is not None]
    level: dict[int, float] = {}  # own channel minus the other's, dB over the word
    drop: set[int] = set()
    for i, token in words:
        own = index.get(token.channel)
        if own is None:
            continue
        start, end = _span(token)
        if cleaned is not None and own < len(applied) and applied[own]:
            if cancelled_away(token, channels[own], cleaned[own], rate):
                drop.add(i)
            continue
        level[i] = _rms_db(channels[own], start, end, rate) - _rms_db(channels[1 - own], start, end, rate)
    drop.update(i for i, difference in level.items() if difference < -margin)
    by_channel = {label: [(i, t) for i, t in words if t.channel == label] for label in labels}
    for i, token in by_channel[labels[0]]:
        for j, other in by_channel[labels[1]]:
            if other.start >= token.end or other.end <= token.start or _normal(other.content) != _normal(token.content):
                continue
            if i in level and j in level and abs(level[i] - level[j]) > TWIN_DB:
                drop.add(i if level[i] < level[j] else j)
    if not drop:
        return tokens
    kept: list[Token] = []
    dropped_word = False
    for i, token in enumerate(tokens):
        if token.kind == PUNCTUATION:
            if not dropped_word:
                kept.append(token)
            continue
        dropped_word = i in drop
        if not dropped_word:
            kept.append(token)
    # A segment's first token must be a word (a transcript never starts with punctuation).
    out: list[Token] = []
    for token in kept:
        if token.kind == PUNCTUATION and (not out or out[-1].segment != token.segment):
            continue
        out.append(token)
    return out


def snap_to_speech(tokens: list[Token], speech: Sequence[tuple[float, float]]) -> list[Token]:
    """`tokens` whose words' times leave out the silence at their edges: a word that overlaps
    `speech` ((start, end) seconds, sorted, not overlapping) starts no earlier than the first
    speech region it overlaps starts and ends no later than the last one ends. Whisper's word
    times (cross-attention alignment) run on into the silence around them: a word before a
    pause ends, or the word after it starts, seconds away from its speech (on bench/meetings.py
    21 % of the word-seconds lie outside the reference speech; 14 % after this, the rest
    mostly the VAD's padding). What is cut is silence: its median level is 20 to 38 dB below
    that of the words' remaining time on the meetings, the AMI excerpts and the long file.
    Words that overlap no speech, punctuation and the order are kept; times are rounded to
    the millisecond."""
    if not speech:
        return tokens
    starts = [a for a, _ in speech]
    out: list[Token] = []
    for token in tokens:
        if token.kind == "pronunciation" and token.start is not None and token.end is not None:
            first = max(bisect.bisect_right(starts, token.start) - 1, 0)
            hit = [(a, b) for a, b in speech[first : bisect.bisect_left(starts, token.end)] if b > token.start]
            if hit:
                start, end = round(max(token.start, hit[0][0]), 3), round(min(token.end, hit[-1][1]), 3)
                if (start, end) != (token.start, token.end):
                    token = replace(token, start=start, end=max(start, end))
        out.append(token)
    return out


def end_failed_alignments(tokens: list[Token]) -> list[Token]:
    """`tokens` with each failed word alignment ended where the next word of its channel
    starts. A word longer than LONGEST_WORD seconds (emulator.engine.missed_speech) that runs
    past the start of a later word is not one word's sound: Whisper's cross-attention lost
    its place (on bench/meetings.py meeting2 a "1-0" timed 12.62 to 24.42 s over two other
    talkers' sentences, which the missed-speech pass decoded again). Left as it is, it spans
    other words in the items and makes a speaker segment of its 12 s. Its start (where the
    alignment began) is kept; words of normal length, and long ones that overlap nothing, are
    left alone. Order and everything else are kept."""
    out = list(tokens)
    timed = [i for i, t in enumerate(tokens) if t.kind == PRONUNCIATION and t.start is not None and t.end is not None]
    for k, i in enumerate(timed):
        word = tokens[i]
        if word.end - word.start <= LONGEST_WORD:
            continue
        later = [
            tokens[j].start
            for j in timed[k + 1 :]
            if tokens[j].channel == word.channel and tokens[j].start >= word.start
        ]
        if later and min(later) < word.end:
            out[i] = replace(word, end=min(later))
    return out
