"""Subtitle rendering from transcript `results`: pure functions, hand-built results (digest §4 shape)."""

import pytest

from emulator.engine.recognizer import Segment, Transcription, Word
from emulator.service.output import render_tokens, transcription_tokens
from emulator.service.subtitles import MAX_CHARS, Cue, cues, format_timestamp, render_subtitles


def _results(*tokens, segments=None) -> dict:
    """tokens: (content, start, end[, extra]) for a word, (content[, extra]) for punctuation; extra:
    more item fields. segments: lists of item ids, rendered as audio_segments."""
    items = []
    for token in tokens:
        extra = token[-1] if isinstance(token[-1], dict) else {}
        if len(token) - bool(extra) == 1:
            alternatives = [{"confidence": "0.0", "content": token[0]}]
            item = {"id": len(items), "type": "punctuation", "alternatives": alternatives}
        else:
            content, start, end = token[:3]
            item = {
                "id": len(items),
                "type": "pronunciation",
                "alternatives": [{"confidence": "0.99", "content": content}],
                "start_time": str(start),
                "end_time": str(end),
            }
        item.update(extra)
        items.append(item)
    results = {"transcripts": [{"transcript": ""}], "items": items}
    if segments is not None:
        results["audio_segments"] = [{"id": i, "items": ids} for i, ids in enumerate(segments)]
    return results


HELLO = _results(
    ("Hello", 0.5, 0.9), ("there", 0.9, 1.2), (".",),
    ("How", 2.5, 2.7), ("are", 2.7, 2.8), ("you", 2.8, 3.05), ("?",),
)


def test_srt_small_example_exact():
    assert render_subtitles(HELLO, "srt") == (
        "0\n00:00:00,500 --> 00:00:01,200\nHello there.\n"
        "\n"
        "1\n00:00:02,500 --> 00:00:03,050\nHow are you?\n"
    )


def test_vtt_small_example_exact():
    assert render_subtitles(HELLO, "vtt") == (
        "WEBVTT\n"
        "\n"
        "0\n00:00:00.500 --> 00:00:01.200\nHello there.\n"
        "\n"
        "1\n00:00:02.500 --> 00:00:03.050\nHow are you?\n"
    )


def test_output_start_index_one_numbers_from_one():
    srt = render_subtitles(HELLO, "srt", start_index=1)
    vtt = render_subtitles(HELLO, "vtt", start_index=1)
    assert srt.startswith("1\n00:00:00,500") and "\n2\n00:00:02,500" in srt
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.500") and "\n2\n00:00:02.500" in vtt


def test_punctuation_attaches_to_the_word_before_it():
    results = _results(("Well", 0.0, 0.3), (",",), ("yes", 0.3, 0.6), ("!",), ("Really", 0.6, 0.9), ("?",))
    assert cues(results) == [Cue(0.0, 0.9, "Well, yes! Really?")]


def test_sentences_without_a_pause_share_a_cue():
    results = _results(("Stop", 1.0, 1.3), (".",), ("Go", 1.4, 1.7), (".",))
    assert [c.text for c in cues(results)] == ["Stop. Go."]


def test_a_pause_starts_a_new_cue_and_cues_do_not_span_the_silence():
    results = _results(("one", 1.0, 1.4), ("two", 1.5, 1.9), ("three", 3.0, 3.4))
    assert cues(results) == [Cue(1.0, 1.9, "one two"), Cue(3.0, 3.4, "three")]


def test_audio_segment_boundaries_start_new_cues():
    results = _results(("Yes", 0.0, 0.3), (".",), ("Right", 0.35, 0.6), (".",), segments=[[0, 1], [2, 3]])
    assert [c.text for c in cues(results)] == ["Yes.", "Right."]


def test_a_long_run_is_split_into_short_cues_losing_no_word():
    words = [f"word{i}" for i in range(60)]
    tokens = [(w, round(i * 0.3, 3), round(i * 0.3 + 0.25, 3)) for i, w in enumerate(words)] + [(".",)]
    out = cues(_results(*tokens))
    assert len(out) > 1
    assert all(len(c.text) <= MAX_CHARS and "\n" not in c.text for c in out)
    assert " ".join(c.text for c in out) == " ".join(words) + "."
    assert out[0].start == 0.0 and out[-1].end == pytest.approx(59 * 0.3 + 0.25)
    for before, after in zip(out, out[1:]):
        assert before.end <= after.start


def test_timestamps_past_one_hour():
    results = _results(("late", 3725.5, 3726.042), (".",))
    assert render_subtitles(results, "srt") == "0\n01:02:05,500 --> 01:02:06,042\nlate.\n"
    assert render_subtitles(results, "vtt") == "WEBVTT\n\n0\n01:02:05.500 --> 01:02:06.042\nlate.\n"


def test_format_timestamp_rounds_to_milliseconds():
    assert format_timestamp(0.0, ",") == "00:00:00,000"
    assert format_timestamp(1.2344, ".") == "00:00:01.234"
    assert format_timestamp(59.9996, ",") == "00:01:00,000"
    assert format_timestamp(36000.019, ".") == "10:00:00.019"
    assert format_timestamp(-0.01, ",") == "00:00:00,000"


def test_empty_transcript_gives_an_empty_file():
    empty = {"transcripts": [{"transcript": ""}], "items": [], "audio_segments": []}
    assert cues(empty) == []
    assert render_subtitles(empty, "srt") == ""
    assert render_subtitles(empty, "vtt") == "WEBVTT\n\n"
    assert render_subtitles({}, "vtt", start_index=1) == "WEBVTT\n\n"


def test_redacted_and_masked_content_pass_through():
    redaction = {"confidence": "0.99", "type": "NAME", "category": "PII"}
    pii = {"alternatives": [{"content": "[PII]", "redactions": [redaction]}]}
    results = _results(
        ("My", 0.0, 0.2), ("name", 0.2, 0.4), ("is", 0.4, 0.5), ("[PII]", 0.5, 0.9, pii), (".",),
        ("***", 0.9, 1.1), ("it", 1.1, 1.2), (".",),
    )
    assert [c.text for c in cues(results)] == ["My name is [PII]. *** it."]


def test_speaker_labels_never_appear_and_turns_get_dashes():
    results = _results(
        ("Hi", 0.0, 0.3, {"speaker_label": "spk_0"}), (".", {"speaker_label": "spk_0"}),
        ("Hello", 0.4, 0.8, {"speaker_label": "spk_1"}), (".", {"speaker_label": "spk_1"}),
    )
    out = cues(results)
    assert out == [Cue(0.0, 0.8, "-- Hi.\n-- Hello.")]
    assert "spk_" not in render_subtitles(results, "srt")


def test_a_single_speaker_cue_has_no_dash():
    spk = {"speaker_label": "spk_0"}
    results = _results(("Just", 0.0, 0.3, spk), ("me", 0.3, 0.5, spk))
    assert [c.text for c in cues(results)] == ["Just me"]


def test_a_third_speaker_turn_opens_a_new_cue():
    results = _results(
        ("A", 0.0, 0.2, {"speaker_label": "spk_0"}),
        ("B", 0.3, 0.5, {"speaker_label": "spk_1"}),
        ("C", 0.6, 0.8, {"speaker_label": "spk_0"}),
    )
    assert [c.text for c in cues(results)] == ["-- A\n-- B", "C"]


def test_channel_labels_are_ignored():
    results = _results(
        ("Yes", 0.5, 0.8, {"channel_label": "ch_0"}), ("no", 0.9, 1.2, {"channel_label": "ch_1"})
    )
    assert render_subtitles(results, "srt") == "0\n00:00:00,500 --> 00:00:01,200\nYes no\n"


def test_unknown_format_is_rejected():
    with pytest.raises(ValueError):
        render_subtitles(HELLO, "ttml")


def test_renders_what_the_transcript_renderer_produces():
    words = ((" Hey,", 0.119, 0.389, 0.998), (" I", 0.479, 0.68, 0.999), (" am.", 0.68, 0.879, 0.997))
    transcription = Transcription(
        language="en",
        language_probability=1.0,
        duration=10.0,
        segments=(
            Segment(0.119, 0.879, "Hey, I am.", tuple(Word(s, e, t, p) for t, s, e, p in words)),
            Segment(2.559, 2.759, " Yeah.", (Word(2.559, 2.759, " Yeah.", 0.9),)),
        ),
    )
    assert render_subtitles(render_tokens(transcription_tokens(transcription)), "srt", start_index=1) == (
        "1\n00:00:00,119 --> 00:00:00,879\nHey, I am.\n\n2\n00:00:02,559 --> 00:00:02,759\nYeah.\n"
    )
