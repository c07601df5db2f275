"""Speech that Whisper skipped: stretches the VAD hears as speech that no decoded word covers.
Pure.

Knows nothing of AWS. Whisper decodes 30 s windows conditioned on the text before; a window
that goes wrong (a digit string that turns into "1-0-0-3" for 15 s of other talkers, a
fallback that samples badly) can leave seconds of clear speech without a word, and nothing
in faster-whisper notices (issue 15: a 3-talker meeting came out as digits alone, WER 0.98).
`uncovered` finds such stretches so that the recognizer can decode them again on their own
(emulator.engine.recognizer); `accept` is Whisper's own quality check for what comes back.
"""

from __future__ import annotations

from collections.abc import Sequence

# Seconds around each word taken as covered by it: Whisper's word times are off by ~0.1-0.2 s
# and a job pads the VAD's regions by 0.2 s.
WORD_MARGIN = 0.3
# Seconds of speech without a word that count as missed. Shorter stretches are mostly breaths,
# laughs and back-channels that Whisper leaves out on purpose; the shared single-talker items
# have none this long (bench/batch.py --accuracy, issue 15).
LEAST_MISSED = 1.0
# Uncovered pieces this close (seconds) are one stretch: decoded together, with their context.
JOIN_GAP = 0.5
# Seconds: a longer "word" is a failed alignment (a "-0" timed from 12.6 s to 24.4 s over other
# talkers' sentences), not speech it covers; it covers LONGEST_WORD / 2 at each of its ends.
LONGEST_WORD = 1.5

# faster-whisper's fallback thresholds (TranscriptionOptions defaults): a decode whose text
# compresses better than this is repetitive, one under this mean log-probability is unsure, and
# one over this no-speech probability with an unsure text is silence.
COMPRESSION_RATIO_MAX = 2.4
LOG_PROB_MIN = -1.0
NO_SPEECH_MAX = 0.6


def gap_needs_speech(word_spans: Sequence[tuple[float, float]], duration: float) -> bool:
    """True when some stretch without words (before the first, between two, after the last;
    seconds) is long enough to hide missed speech: only then is the VAD worth running."""
    least = LEAST_MISSED + 2 * WORD_MARGIN
    at = -WORD_MARGIN
    for start, end in _covering(word_spans):
        if start - at >= least:
            return True
        at = max(at, end)
    return duration + WORD_MARGIN - at >= least


def _covering(word_spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The spans the words cover, sorted: each word's own, or both ends of an overlong one."""
    out: list[tuple[float, float]] = []
    for start, end in word_spans:
        if end - start > LONGEST_WORD:
            out += [(start, start + LONGEST_WORD / 2), (end - LONGEST_WORD / 2, end)]
        else:
            out.append((start, end))
    return sorted(out)


def uncovered(
    word_spans: Sequence[tuple[float, float]],
    speech: Sequence[tuple[float, float]],
    margin: float = WORD_MARGIN,
    least: float = LEAST_MISSED,
    join: float = JOIN_GAP,
) -> list[tuple[float, float]]:
    """(start, end) seconds of VAD speech that no word covers, at least `least` long.

    word_spans: (start, end) seconds of the decoded words, any order; speech: the VAD's speech
    regions (start, end) seconds, sorted, not overlapping. A word covers its span (both ends of
    one longer than LONGEST_WORD) widened by `margin` on each side; uncovered pieces closer than `join` are merged (with the gap between
    them) before the length test. Sorted; [] when every stretch of speech has words."""
    spans = [(start - margin, end + margin) for start, end in _covering(word_spans)]
    pieces: list[tuple[float, float]] = []
    for first, last in speech:
        at = first
        for start, end in spans:
            if end <= at or start >= last:
                continue
            if start > at:
                pieces.append((at, start))
            at = max(at, end)
            if at >= last:
                break
        if at < last:
            pieces.append((at, last))
    merged: list[tuple[float, float]] = []
    for start, end in pieces:
        if merged and start - merged[-1][1] < join:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [(start, end) for start, end in merged if end - start >= least]


def accept(avg_logprob: float, compression_ratio: float, no_speech_prob: float) -> bool:
    """Whether a re-decoded segment is kept: not repetitive, not unsure, not silence (the
    thresholds faster-whisper falls back on; here a failing decode is dropped instead: the
    stretch stays without words rather than gaining invented ones)."""
    return (
        compression_ratio <= COMPRESSION_RATIO_MAX and avg_logprob >= LOG_PROB_MIN and no_speech_prob <= NO_SPEECH_MAX
    )
