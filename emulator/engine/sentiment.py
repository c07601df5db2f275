"""Sentiment of spoken text with VADER (vaderSentiment: a lexicon and rules tuned to
conversational text; Hutto & Gilbert, ICWSM 2014). Pure Python; the lexicon ships in the wheel.

Mapping to Call Analytics' figures (AWS names the labels and the -5..5 scale, not the method):
* label of a text: MIXED when VADER finds both positive and negative words carrying at least
  `MIXED_SHARE` (15 %) of the text each; else POSITIVE for a compound score >= 0.05, NEGATIVE
  for <= -0.05 (VADER's own recommended thresholds), NEUTRAL between;
* score of a text: 5 x VADER's compound score (-1..1), so -5..5;
* score of a stretch (a quarter of the call, the whole call): the mean of its texts' scores
  weighted by their word counts; 0.0 with no words.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

POSITIVE, NEGATIVE, NEUTRAL, MIXED = "POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"
THRESHOLD = 0.05  # VADER's recommended compound thresholds
MIXED_SHARE = 0.15
SCALE = 5.0


@dataclass(frozen=True)
class Sentiment:
    """label: POSITIVE | NEGATIVE | NEUTRAL | MIXED; score: -5..5; words: how many words it weighs."""

    label: str
    score: float
    words: int


@functools.cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> Sentiment:
    """The sentiment of one text (a turn of the conversation)."""
    polarity = _analyzer().polarity_scores(text)
    compound = polarity["compound"]
    if polarity["pos"] >= MIXED_SHARE and polarity["neg"] >= MIXED_SHARE:
        label = MIXED
    elif compound >= THRESHOLD:
        label = POSITIVE
    elif compound <= -THRESHOLD:
        label = NEGATIVE
    else:
        label = NEUTRAL
    return Sentiment(label, SCALE * compound, len(text.split()))


def mean_score(sentiments: list[Sentiment]) -> float:
    """Word-weighted mean score (-5..5) of several texts; 0.0 when they have no words."""
    words = sum(s.words for s in sentiments)
    return sum(s.score * s.words for s in sentiments) / words if words else 0.0
