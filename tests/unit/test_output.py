"""Transcript rendering: pure functions, no server (shapes from digest §4 and the AWS recording)."""

import json
from pathlib import Path

from emulator.engine.recognizer import Segment, Transcription, Word
from emulator.service.output import (
    channel_tokens,
    format_confidence,
    format_seconds,
    render_job_results,
    render_tokens,
    split_word,
    transcription_tokens,
    wrap_transcript,
)

RECORDED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "aws-recorded-responses.json"


def transcript_of(job_name: str, account_id: str, transcription: Transcription) -> dict:
    """The transcript file of a plain job: its recognition's tokens rendered and wrapped."""
    return wrap_transcript(job_name, account_id, render_tokens(transcription_tokens(transcription)))


def _transcription(*segments: list[tuple[str, float, float, float]]) -> Transcription:
    return Transcription(
        language="en",
        language_probability=1.0,
        duration=10.0,
        segments=tuple(
            Segment(words[0][1], words[-1][2], "".join(w[0] for w in words), tuple(Word(s, e, t, p) for t, s, e, p in words))
            for words in segments
        ),
    )


def test_seconds_are_aws_strings():
    assert format_seconds(2.19) == "2.19"
    assert format_seconds(0.0) == "0.0"
    assert format_seconds(1.2799999) == "1.28"
    assert format_seconds(3.0) == "3.0"
    assert format_seconds(-0.01) == "0.0"


def test_confidences_are_strings_between_0_and_1():
    assert format_confidence(0.998) == "0.998"
    assert format_confidence(1.0) == "1.0"
    # Items carry at most 3 decimals, as in the recorded AWS transcript ("0.438"; issue 13 §4).
    assert format_confidence(0.43812) == "0.438"
    assert format_confidence(0.99951) == "1.0"
    assert format_confidence(0.43812, 4) == "0.4381"  # redactions and language scores (digest §4)
    assert format_confidence(1.2) == "1.0"


def test_split_word_separates_trailing_punctuation():
    assert split_word(" Americans,") == ("Americans", [","])
    assert split_word(' "Hello?"') == ("Hello", ["?"])
    assert split_word(" don't") == ("don't", [])
    assert split_word(" end...") == ("end", ["."])
    assert split_word(" ...") == ("", ["."])


def test_plain_job_shape_matches_aws():
    t = _transcription(
        [(" Hey,", 0.119, 0.389, 0.998), (" I", 0.479, 0.68, 0.999), (" am.", 0.68, 0.879, 0.997)],
        [(" Yeah.", 2.559, 2.759, 0.9)],
    )
    out = transcript_of("job-1", "000000000000", t)
    assert list(out) == ["jobName", "accountId", "status", "results"]
    assert out["status"] == "COMPLETED"
    results = out["results"]
    assert results["transcripts"] == [{"transcript": "Hey, I am. Yeah."}]
    items = results["items"]
    assert [i["id"] for i in items] == list(range(len(items)))
    assert items[0] == {
        "id": 0,
        "type": "pronunciation",
        "alternatives": [{"confidence": "0.998", "content": "Hey"}],
        "start_time": "0.119",
        "end_time": "0.389",
    }
    assert items[1] == {"id": 1, "type": "punctuation", "alternatives": [{"confidence": "0.0", "content": ","}]}
    assert results["audio_segments"] == [
        {"id": 0, "transcript": "Hey, I am.", "start_time": "0.119", "end_time": "0.879", "items": [0, 1, 2, 3, 4]},
        {"id": 1, "transcript": "Yeah.", "start_time": "2.559", "end_time": "2.759", "items": [5, 6]},
    ]


def test_item_keys_and_types_match_the_aws_recording():
    recorded = json.loads(RECORDED.read_text())
    real = next(v for k, v in recorded.items() if "diarization" in k)["recorded-content"]
    real = real["transcribe_speaker_diarization"]
    ours = transcript_of("j", "000000000000", _transcription([(" Hey,", 0.1, 0.3, 0.9)]))
    real_word = next(i for i in real["results"]["items"] if i["type"] == "pronunciation")
    real_mark = next(i for i in real["results"]["items"] if i["type"] == "punctuation")
    our_word, our_mark = ours["results"]["items"]
    # Ours carries every key of AWS's items except the diarization one (speaker_label).
    assert set(our_word) == set(real_word) - {"speaker_label"}
    assert set(our_mark) == set(real_mark) - {"speaker_label"}
    for key in ("start_time", "end_time"):
        assert type(our_word[key]) is type(real_word[key]) is str
    assert type(our_word["alternatives"][0]["confidence"]) is str
    real_segment = real["results"]["audio_segments"][0]
    assert set(ours["results"]["audio_segments"][0]) == set(real_segment) - {"speaker_label"}


def test_hyphenated_and_clitic_pieces_join_the_word_before():
    out = transcript_of(
        "j", "0", _transcription([(" ill", 1.0, 1.2, 0.9), ("-disposed.", 1.2, 1.8, 0.8), (" it", 2.0, 2.1, 0.9), ("'s", 2.1, 2.2, 0.7)])
    )
    words = [i["alternatives"][0]["content"] for i in out["results"]["items"]]
    assert words == ["ill-disposed", ".", "it's"]
    assert out["results"]["items"][0]["end_time"] == "1.8"
    assert out["results"]["items"][0]["alternatives"][0]["confidence"] == "0.8"


def test_silence_gives_an_empty_transcript():
    out = transcript_of("j", "0", _transcription())
    assert out["results"] == {"transcripts": [{"transcript": ""}], "items": [], "audio_segments": []}


def test_channel_results_interleave_channels_in_time_order():
    left = _transcription([(" Yes.", 0.5, 0.8, 0.99)], [(" Right.", 3.0, 3.4, 0.9)])
    right = _transcription([(" No.", 1.2, 1.4, 0.95)])
    results = render_job_results(channel_tokens([left, right]), 2)
    assert list(results) == ["transcripts", "channel_labels", "items", "audio_segments"]
    assert results["transcripts"] == [{"transcript": "Yes. No. Right."}]
    assert [(i["id"], i["channel_label"], i["alternatives"][0]["content"]) for i in results["items"]] == [
        (0, "ch_0", "Yes"), (1, "ch_0", "."), (2, "ch_1", "No"), (3, "ch_1", "."), (4, "ch_0", "Right"), (5, "ch_0", "."),
    ]
    channels = results["channel_labels"]
    assert channels["number_of_channels"] == 2
    assert [c["channel_label"] for c in channels["channels"]] == ["ch_0", "ch_1"]
    assert channels["channels"][1]["items"] == [
        {"channel_label": "ch_1", "type": "pronunciation", "alternatives": [{"confidence": "0.95", "content": "No"}],
         "start_time": "1.2", "end_time": "1.4"},
        {"channel_label": "ch_1", "type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]},
    ]
    assert [s["channel_label"] for s in results["audio_segments"]] == ["ch_0", "ch_1", "ch_0"]
