"""Conversation characteristics (emulator.engine.conversation) on hand-made word timings and
synthetic samples: every figure has an exact expected value."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.engine.conversation import (
    Span,
    interruptions,
    level_score,
    loudness_scores,
    non_talk,
    speech_runs,
    talk_time,
    words_per_minute,
)

AGENT = [(0.5, 0.9), (1.0, 1.4), (1.6, 2.0), (6.0, 6.5), (6.6, 7.0)]  # two runs: 0.5-2.0, 6.0-7.0
CUSTOMER = [(2.5, 3.0), (3.2, 4.0), (6.5, 7.5), (7.6, 8.0)]  # 2.5-4.0, and 6.5-8.0 over the agent


def runs():
    return {"AGENT": speech_runs(AGENT), "CUSTOMER": speech_runs(CUSTOMER)}


def test_runs_join_words_across_short_pauses():
    assert speech_runs(AGENT) == [Span(0.5, 2.0), Span(6.0, 7.0)]
    assert speech_runs([(0.0, 1.0), (2.0, 3.0)]) == [Span(0.0, 1.0), Span(2.0, 3.0)]  # a 1 s pause splits


def test_talk_time_and_speed():
    assert talk_time(runs()["AGENT"]) == pytest.approx(2.5)
    assert talk_time(runs()["CUSTOMER"]) == pytest.approx(3.0)
    assert words_per_minute(5, 2.5) == pytest.approx(120.0)
    assert words_per_minute(3, 0.0) == 0.0


def test_non_talk_is_silence_of_three_seconds_or_more_including_the_end():
    assert non_talk(runs(), duration=12.0) == [Span(8.0, 12.0)]  # 4.0-6.0 is only 2 s
    assert non_talk(runs(), duration=12.0, min_length=2.0) == [Span(4.0, 6.0), Span(8.0, 12.0)]
    assert non_talk({"A": [Span(3.5, 4.0)]}, duration=4.0) == [Span(0.0, 3.5)]


def test_an_interruption_is_a_run_starting_inside_the_others_run():
    found = interruptions(runs())
    assert len(found) == 1
    assert found[0].interrupter == "CUSTOMER" and found[0].interrupted == "AGENT"
    assert found[0].span == Span(6.5, 7.0)
    assert interruptions(runs(), min_overlap=0.6) == []


def test_loudness_maps_dbfs_to_0_100():
    rate = 16000
    tone = 0.1 * np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(rate * 2) / rate)  # RMS 0.1 = -20 dBFS
    samples = np.concatenate([tone, np.zeros(rate)]).astype(np.float32)
    assert loudness_scores(samples, rate, Span(0.0, 3.0)) == pytest.approx([80.0, 80.0, 0.0], abs=0.01)
    assert loudness_scores(samples, rate, Span(1.0, 2.5)) == pytest.approx([80.0, 0.0], abs=0.01)
    assert level_score(np.ones(10)) == 100.0
