"""Audio segments end at pauses; a word heard on both channels stays on the louder one
(emulator.service.segmentation, issue 15). Pure functions on tokens and samples."""

from __future__ import annotations

import numpy as np

from emulator.engine.diarization import SpeakerTurn
from emulator.service.output import render_job_results
from emulator.service.segmentation import PAUSE, drop_crosstalk, end_failed_alignments, split_at_pauses
from emulator.service.speakers import label_speakers
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Token

RATE = 16000


def _word(text: str, start: float, end: float, segment: int = 0, channel: str | None = None) -> Token:
    return Token(PRONUNCIATION, text, 0.9, start, end, segment=segment, channel=channel)


def _mark(text: str, segment: int = 0, channel: str | None = None) -> Token:
    return Token(PUNCTUATION, text, 0.0, segment=segment, channel=channel)


def test_a_pause_longer_than_the_threshold_starts_a_segment():
    tokens = [
        _word("yes", 0.0, 0.4),
        _mark(","),
        _word("right", 0.4 + PAUSE - 0.2, 1.5),  # a short pause: same segment
        _mark("."),
        _word("later", 1.5 + PAUSE + 0.3, 3.2),  # a long one: a new segment
        _word("on", 3.2, 3.4),
        _word("next", 3.5, 3.8, segment=1),  # Whisper's own boundary stays
    ]

    out = split_at_pauses(tokens)

    assert [t.segment for t in out] == [0, 0, 0, 0, 1, 1, 2]
    assert [(t.content, t.start) for t in out] == [(t.content, t.start) for t in tokens]


def test_channels_interleaved_keep_their_own_segments():
    tokens = [_word("a", 0.0, 0.5, 0, "ch_0"), _word("b", 0.6, 0.9, 1, "ch_1"), _word("c", 5.0, 5.4, 1, "ch_1")]

    assert [t.segment for t in split_at_pauses(tokens)] == [0, 1, 2]


def test_a_word_timed_over_the_words_after_it_ends_where_they_start():
    # meeting2's case (bench/meetings.py): a digit string aligned from 12.62 s to 24.42 s over
    # two other talkers' sentences, which the missed-speech pass decoded on their own.
    tokens = [
        _word("1-0", 12.62, 24.42),
        _word("against", 13.67, 14.03),
        _mark(","),
        _word("figures", 18.57, 18.95),
        _word("one-two-three", 20.0, 22.5),  # long, but over no other word: a slow digit string
        _word("-0-3", 24.42, 28.0),
    ]

    out = end_failed_alignments(tokens)

    assert [(t.content, t.start, t.end) for t in out] == [
        ("1-0", 12.62, 13.67),
        ("against", 13.67, 14.03),
        (",", None, None),
        ("figures", 18.57, 18.95),
        ("one-two-three", 20.0, 22.5),
        ("-0-3", 24.42, 28.0),
    ]


def test_a_long_word_is_ended_only_by_words_of_its_own_channel():
    tokens = [_word("long", 1.0, 4.0, channel="ch_0"), _word("other", 2.0, 2.5, channel="ch_1")]

    assert end_failed_alignments(tokens) == tokens

    tokens.append(_word("mine", 3.0, 3.2, channel="ch_0"))
    assert end_failed_alignments(tokens)[0].end == 3.0


def _labelled(turns: list[SpeakerTurn]) -> dict:
    tokens = [_word("so", 9.5, 9.8), _word("yeah", 10.0, 10.3), _mark("."), _word("right", 28.8, 29.1)]
    return render_job_results(label_speakers(tokens, turns), speakers=True)


def test_a_speaker_segment_never_bridges_a_pause():
    # The case: one speaker's words at 9.5 s and 28.8 s, silence (or other voices) between.
    results = _labelled([SpeakerTurn(0, 9.4, 10.4), SpeakerTurn(1, 12.0, 20.0), SpeakerTurn(0, 28.7, 29.2)])

    segments = results["speaker_labels"]["segments"]
    assert [(s["start_time"], s["end_time"]) for s in segments] == [("9.5", "10.3"), ("28.8", "29.1")]
    assert [a["items"] for a in results["audio_segments"]] == [[0, 1, 2], [3]]
    assert [a["transcript"] for a in results["audio_segments"]] == ["so yeah.", "right"]


def test_words_the_recognizer_missed_are_no_pause():
    # The speaker's own turn runs through the gap: speech without recognised words.
    results = _labelled([SpeakerTurn(0, 9.4, 29.2)])

    assert len(results["speaker_labels"]["segments"]) == 1
    assert len(results["audio_segments"]) == 1


def test_a_gap_the_vad_calls_speech_keeps_its_audio_segment():
    tokens = [_word("so", 0.0, 0.4), _word("then", 3.0, 3.3)]

    assert [t.segment for t in split_at_pauses(tokens, speech=[(0.0, 3.3)])] == [0, 0]
    assert [t.segment for t in split_at_pauses(tokens, speech=[(0.0, 0.5), (2.9, 3.3)])] == [0, 1]


def test_the_vad_is_asked_only_about_gaps_longer_than_a_pause():
    tokens = [_word("so", 0.0, 0.4), _word("and", 0.6, 0.9), _word("then", 3.0, 3.3)]
    asked = []

    def speech(start, end):
        asked.append((start, end))
        return [(0.0, 0.5), (2.9, 3.3)]

    assert [t.segment for t in split_at_pauses(tokens, speech=speech)] == [0, 0, 1]
    assert asked == [(0.9, 3.0)]


def _tone(seconds: float, level_db: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 10 ** (level_db / 20), int(seconds * RATE))).astype(np.float32)


def test_a_word_heard_on_both_channels_stays_on_the_louder_one():
    near, far = _tone(2.0, -20, 1), _tone(2.0, -32, 2)  # the same talker, -12 dB on the other microphone
    channels = np.stack([np.concatenate([near, far]), np.concatenate([far, near])])
    tokens = [
        _word("hello", 0.2, 0.8, 0, "ch_0"),
        _mark(".", 0, "ch_0"),
        _word("hello", 0.25, 0.8, 1, "ch_1"),  # crosstalk of ch_0's word
        _mark(".", 1, "ch_1"),
        _word("fine", 2.3, 2.9, 2, "ch_1"),
        _word("fine", 2.3, 2.9, 3, "ch_0"),  # crosstalk of ch_1's word
    ]

    out = drop_crosstalk(tokens, channels, RATE, ("ch_0", "ch_1"))

    assert [(t.content, t.channel) for t in out] == [("hello", "ch_0"), (".", "ch_0"), ("fine", "ch_1")]


def test_overlapping_talkers_at_their_own_microphones_keep_their_words():
    a, b = _tone(1.0, -20, 3), _tone(1.0, -23, 4)  # both talk at once, 3 dB apart
    channels = np.stack([a + 0.25 * b, b + 0.25 * a])
    tokens = [_word("one", 0.1, 0.9, 0, "ch_0"), _word("two", 0.1, 0.9, 1, "ch_1")]

    assert drop_crosstalk(tokens, channels, RATE, ("ch_0", "ch_1")) == tokens


def test_identical_channels_keep_their_words_on_both():
    voice = _tone(1.0, -20, 5)
    channels = np.stack([voice, voice])  # dual mono, as jfk.flac
    tokens = [_word("ask", 0.1, 0.5, 0, "ch_0"), _word("ask", 0.1, 0.5, 1, "ch_1")]

    assert drop_crosstalk(tokens, channels, RATE, ("ch_0", "ch_1")) == tokens


def test_after_cancellation_a_quiet_word_under_the_other_talker_stays():
    # Where both talk at once, channel 0's own quiet word is 9 dB below channel 1: the level
    # rule calls it crosstalk. Its sound survived the cancellation, so it stays; channel 1's
    # word, whose sound the cancellation removed, was the leak of channel 0's.
    quiet, loud = _tone(1.0, -32, 6), _tone(1.0, -20, 7)
    channels = np.stack([quiet + 0.25 * loud, loud + 0.25 * quiet])
    cleaned = np.stack([quiet, 0.01 * loud])  # as if channel 1's word were all leak
    tokens = [_word("left", 0.1, 0.9, 0, "ch_0"), _word("aside", 0.1, 0.9, 1, "ch_1")]

    assert drop_crosstalk(tokens, channels, RATE, ("ch_0", "ch_1")) == [tokens[1]]
    out = drop_crosstalk(tokens, channels, RATE, ("ch_0", "ch_1"), cleaned=cleaned, applied=(True, True))
    assert out == [tokens[0]]
    # Where the cancellation was not applied the level rule still decides.
    assert drop_crosstalk(tokens, channels, RATE, ("ch_0", "ch_1"), cleaned=cleaned, applied=(False, False)) == [
        tokens[1]
    ]
