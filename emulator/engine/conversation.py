"""Conversation characteristics of a two-party call from word timings and samples: talk time,
talk speed, non-talk time, interruptions and loudness. Pure functions; times in seconds.

A participant is any hashable key (the service uses roles). The measures, chosen where the
source (AWS's "Post-call analytics output" page) names a measure but not its method:
* speech runs: a participant's words joined while the pause between two words is under
  `MAX_PAUSE` (1.0 s); talk time is the total length of a participant's runs;
* talk speed: words per minute of talk time;
* non-talk time: stretches of at least `MIN_NON_TALK` (3.0 s) inside [0, duration] where no
  participant has a speech run;
* interruptions: a run of one participant that starts while another's run is going on, with
  an overlap of at least `MIN_INTERRUPTION` (0.5 s); the instance spans the overlap (from the
  interrupter's start to the end of the first of the two runs to end);
* loudness: RMS level per second of a participant's channel in dBFS, mapped to 0-100 as
  `dBFS + 100` clipped (so -20 dBFS, ordinary speech, scores 80; digital silence 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable

import numpy as np

MAX_PAUSE = 1.0  # s: a shorter pause between two words of one participant stays in the run
MIN_NON_TALK = 3.0  # s
MIN_INTERRUPTION = 0.5  # s
LOUDNESS_WINDOW = 1.0  # s
_DB_FLOOR = -100.0  # dBFS: digital silence


@dataclass(frozen=True)
class Span:
    """A stretch of time, seconds from the start of the audio."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Interruption:
    """`interrupter` started talking at `span.start` while `interrupted` was talking."""

    interrupter: Hashable
    interrupted: Hashable
    span: Span


def speech_runs(words: Iterable[tuple[float, float]], max_pause: float = MAX_PAUSE) -> list[Span]:
    """One participant's (start, end) word times -> runs of speech, in time order."""
    runs: list[Span] = []
    for start, end in sorted(words):
        if runs and start - runs[-1].end < max_pause:
            runs[-1] = Span(runs[-1].start, max(runs[-1].end, end))
        else:
            runs.append(Span(start, end))
    return runs


def talk_time(runs: list[Span]) -> float:
    """Seconds of talk in a participant's runs."""
    return sum(run.duration for run in runs)


def words_per_minute(word_count: int, seconds: float) -> float:
    """Talk speed; 0 when the participant did not talk."""
    return word_count * 60.0 / seconds if seconds > 0 else 0.0


def non_talk(runs_by_participant: dict, duration: float, min_length: float = MIN_NON_TALK) -> list[Span]:
    """Stretches of [0, duration] of at least `min_length` s where nobody talks."""
    busy = sorted((run for runs in runs_by_participant.values() for run in runs), key=lambda r: r.start)
    silences = []
    cursor = 0.0
    for run in busy:
        if run.start - cursor >= min_length:
            silences.append(Span(cursor, run.start))
        cursor = max(cursor, run.end)
    if duration - cursor >= min_length:
        silences.append(Span(cursor, duration))
    return silences


def interruptions(runs_by_participant: dict, min_overlap: float = MIN_INTERRUPTION) -> list[Interruption]:
    """Every run that starts inside another participant's run and overlaps it by `min_overlap`
    s or more, in time order."""
    found = []
    for interrupter, runs in runs_by_participant.items():
        for run in runs:
            for other, other_runs in runs_by_participant.items():
                if other == interrupter:
                    continue
                for talking in other_runs:
                    end = min(run.end, talking.end)
                    if talking.start < run.start < talking.end and end - run.start >= min_overlap:
                        found.append(Interruption(interrupter, other, Span(run.start, end)))
    return sorted(found, key=lambda i: i.span.start)


def loudness_scores(samples: np.ndarray, sample_rate: int, span: Span, window: float = LOUDNESS_WINDOW) -> list[float]:
    """Loudness, 0-100, of each `window` of `span` (the last one may be shorter) in mono
    float samples (-1..1): RMS in dBFS + 100, clipped to 0..100, 2 decimals."""
    scores = []
    start = span.start
    while start < span.end - 1e-6:
        piece = samples[int(start * sample_rate) : int(min(start + window, span.end) * sample_rate)]
        scores.append(round(level_score(piece), 2))
        start += window
    return scores


def level_score(piece: np.ndarray) -> float:
    """The 0-100 loudness of a stretch of samples (see the module's mapping)."""
    if piece.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(piece, dtype=np.float64))))
    db = 20.0 * np.log10(rms) if rms > 0 else _DB_FLOOR
    return float(np.clip(db - _DB_FLOOR, 0.0, 100.0))
