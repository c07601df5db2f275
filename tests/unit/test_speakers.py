"""Speaker labels on transcript results: pure functions, no server (shapes from digest §4.2
and the real AWS output recorded in shared/reference/aws-recorded-responses.json). Tokens are
labelled (speakers.label_speakers) and rendered as a job renders them (output.render_job_results)."""

import json
from pathlib import Path

from emulator.engine.diarization import SpeakerTurn
from emulator.engine.recognizer import Segment, Transcription, Word
from emulator.service.output import channel_tokens, render_job_results, transcription_tokens
from emulator.service.speakers import label_speakers
from emulator.service.tokens import Token
from tests.unit.transcript_items import token_of_item

RECORDED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "aws-recorded-responses.json"
DIARIZATION_TEST = (
    "tests/aws/services/transcribe/test_transcribe.py::TestTranscribe::test_transcribe_speaker_diarization"
)


def _transcription(*segments: list[tuple[str, float, float]]) -> Transcription:
    return Transcription(
        language="en",
        language_probability=1.0,
        duration=10.0,
        segments=tuple(
            Segment(
                words[0][1], words[-1][2], "".join(w[0] for w in words), tuple(Word(s, e, t, 0.9) for t, s, e in words)
            )
            for words in segments
        ),
    )


# "Hi. Hello there, friend." as one Whisper segment: speaker A says "Hi.", B the rest.
ONE_SEGMENT_TWO_SPEAKERS = _transcription(
    [(" Hi.", 0.2, 0.6), (" Hello", 1.1, 1.5), (" there,", 1.5, 1.8), (" friend.", 1.9, 2.4)],
)
TWO_TURNS = [SpeakerTurn(0, 0.1, 0.8), SpeakerTurn(1, 1.0, 2.6)]


def labelled_results(tokens: list[Token], turns: list[SpeakerTurn], number_of_channels: int | None = None) -> dict:
    """The `results` of a job whose final tokens are `tokens`, speakers labelled from `turns`."""
    return render_job_results(label_speakers(tokens, turns), number_of_channels, speakers=True)


def _tokens_of_items(items: list[dict]) -> list[Token]:
    """The tokens a recorded transcript's items render back to (one audio segment)."""
    return [token_of_item(item) for item in items]


def _labels(results: dict) -> list[tuple[str, str]]:
    return [(item["alternatives"][0]["content"], item["speaker_label"]) for item in results["items"]]


def test_every_item_gets_the_label_of_its_speaker_and_punctuation_that_of_the_word_before():
    results = labelled_results(transcription_tokens(ONE_SEGMENT_TWO_SPEAKERS), TWO_TURNS)

    assert _labels(results) == [
        ("Hi", "spk_0"),
        (".", "spk_0"),
        ("Hello", "spk_1"),
        ("there", "spk_1"),
        (",", "spk_1"),
        ("friend", "spk_1"),
        (".", "spk_1"),
    ]
    assert list(results["items"][0]) == ["id", "type", "alternatives", "start_time", "end_time", "speaker_label"]


def test_results_keep_the_recorded_key_order():
    results = labelled_results(transcription_tokens(ONE_SEGMENT_TWO_SPEAKERS), TWO_TURNS)

    assert list(results) == ["transcripts", "speaker_labels", "items", "audio_segments"]


def test_speaker_labels_section_has_one_segment_per_run_of_one_speaker():
    results = labelled_results(transcription_tokens(ONE_SEGMENT_TWO_SPEAKERS), TWO_TURNS)

    assert results["speaker_labels"] == {
        "channel_label": "ch_0",
        "speakers": 2,
        "segments": [
            {
                "start_time": "0.2",
                "end_time": "0.6",
                "speaker_label": "spk_0",
                "items": [{"start_time": "0.2", "end_time": "0.6", "speaker_label": "spk_0"}],
            },
            {
                "start_time": "1.1",
                "end_time": "2.4",
                "speaker_label": "spk_1",
                "items": [
                    {"start_time": "1.1", "end_time": "1.5", "speaker_label": "spk_1"},
                    {"start_time": "1.5", "end_time": "1.8", "speaker_label": "spk_1"},
                    {"start_time": "1.9", "end_time": "2.4", "speaker_label": "spk_1"},
                ],
            },
        ],
    }


def test_an_audio_segment_is_split_where_the_speaker_changes():
    results = labelled_results(transcription_tokens(ONE_SEGMENT_TWO_SPEAKERS), TWO_TURNS)

    assert results["audio_segments"] == [
        {
            "id": 0,
            "transcript": "Hi.",
            "start_time": "0.2",
            "end_time": "0.6",
            "speaker_label": "spk_0",
            "items": [0, 1],
        },
        {
            "id": 1,
            "transcript": "Hello there, friend.",
            "start_time": "1.1",
            "end_time": "2.4",
            "speaker_label": "spk_1",
            "items": [2, 3, 4, 5, 6],
        },
    ]
    assert results["transcripts"] == [{"transcript": "Hi. Hello there, friend."}]


def test_segments_of_one_speaker_stay_whole_and_are_renumbered():
    transcription = _transcription(
        [(" One.", 0.0, 0.5)],
        [(" Two", 1.0, 1.4), (" three.", 1.4, 2.0)],
        [(" Four.", 2.3, 3.5)],
    )
    turns = [SpeakerTurn(0, 0.0, 0.6), SpeakerTurn(1, 0.9, 1.5), SpeakerTurn(0, 1.5, 3.6)]

    segments = labelled_results(transcription_tokens(transcription), turns)["audio_segments"]

    assert [(s["id"], s["transcript"], s["speaker_label"]) for s in segments] == [
        (0, "One.", "spk_0"),
        (1, "Two", "spk_1"),
        (2, "three.", "spk_0"),
        (3, "Four.", "spk_0"),
    ]


def test_a_word_spanning_two_turns_goes_to_the_one_it_overlaps_most():
    transcription = _transcription([(" a", 0.0, 0.4), (" long", 0.9, 1.6), (" word", 1.7, 2.0)])
    turns = [SpeakerTurn(0, 0.0, 1.1), SpeakerTurn(1, 1.1, 2.0)]  # "long": 0.2 s vs 0.5 s

    assert [label for _, label in _labels(labelled_results(transcription_tokens(transcription), turns))] == [
        "spk_0",
        "spk_1",
        "spk_1",
    ]


def test_a_word_outside_every_turn_goes_to_the_nearest_turn():
    transcription = _transcription([(" early", 0.0, 0.3), (" gap", 2.0, 2.2), (" late", 4.0, 4.3)])
    turns = [SpeakerTurn(0, 0.5, 1.5), SpeakerTurn(1, 2.3, 3.5)]

    assert [label for _, label in _labels(labelled_results(transcription_tokens(transcription), turns))] == [
        "spk_0",
        "spk_1",
        "spk_1",
    ]


def test_labels_are_numbered_by_first_appearance_among_the_words():
    # The diarizer's speaker 0 spoke only where nothing was recognised (a laugh, a cough).
    transcription = _transcription([(" Yes.", 2.0, 2.5)], [(" No.", 4.0, 4.5)])
    turns = [SpeakerTurn(0, 0.0, 1.0), SpeakerTurn(1, 1.9, 2.6), SpeakerTurn(2, 3.9, 4.6)]

    results = labelled_results(transcription_tokens(transcription), turns)

    assert [label for _, label in _labels(results)] == ["spk_0", "spk_0", "spk_1", "spk_1"]
    assert results["speaker_labels"]["speakers"] == 2


def test_without_turns_everything_is_one_speaker():
    results = labelled_results(transcription_tokens(ONE_SEGMENT_TWO_SPEAKERS), [])

    assert {label for _, label in _labels(results)} == {"spk_0"}
    assert results["speaker_labels"]["speakers"] == 1
    assert len(results["audio_segments"]) == 1


def test_no_speech_gives_an_empty_section():
    results = labelled_results(transcription_tokens(_transcription()), [SpeakerTurn(0, 0.0, 1.0)])

    assert results["speaker_labels"] == {"channel_label": "ch_0", "speakers": 0, "segments": []}
    assert results["items"] == [] and results["audio_segments"] == []


def test_the_input_is_not_modified():
    tokens = transcription_tokens(ONE_SEGMENT_TWO_SPEAKERS)
    before = list(tokens)

    label_speakers(tokens, TWO_TURNS)

    assert tokens == before


def test_channel_identification_items_keep_their_channel_and_gain_a_speaker():
    left = _transcription([(" Yes.", 0.5, 0.8)])
    right = _transcription([(" No", 1.2, 1.4), (" way.", 1.4, 1.7)])
    tokens = channel_tokens([left, right])
    turns = [SpeakerTurn(0, 0.4, 0.9), SpeakerTurn(1, 1.1, 1.8)]

    labelled = labelled_results(tokens, turns, 2)

    assert list(labelled) == ["transcripts", "speaker_labels", "channel_labels", "items", "audio_segments"]
    assert [(i["channel_label"], i["speaker_label"]) for i in labelled["items"]] == [
        ("ch_0", "spk_0"),
        ("ch_0", "spk_0"),
        ("ch_1", "spk_1"),
        ("ch_1", "spk_1"),
        ("ch_1", "spk_1"),
    ]
    channels = labelled["channel_labels"]["channels"]
    assert [i["speaker_label"] for i in channels[1]["items"]] == ["spk_1"] * 3
    assert [(s["channel_label"], s["speaker_label"]) for s in labelled["audio_segments"]] == [
        ("ch_0", "spk_0"),
        ("ch_1", "spk_1"),
    ]


def test_the_recorded_aws_job_gets_the_same_labels():
    recorded = json.loads(RECORDED.read_text())[DIARIZATION_TEST]["recorded-content"]
    aws = recorded["transcribe_speaker_diarization"]["results"]
    items = [{k: v for k, v in item.items() if k != "speaker_label"} for item in aws["items"]]
    tokens = _tokens_of_items(items)
    assert render_job_results(tokens) == {  # the recorded items as one audio segment
        "transcripts": aws["transcripts"],
        "items": items,
        "audio_segments": [
            {
                "id": 0,
                "transcript": aws["transcripts"][0]["transcript"],
                "start_time": "0.119",
                "end_time": "5.76",
                "items": list(range(len(items))),
            }
        ],
    }

    ours = labelled_results(tokens, [SpeakerTurn(0, 0.0, 2.3), SpeakerTurn(1, 2.5, 5.86)])

    assert ours["items"] == aws["items"]
    assert ours["speaker_labels"]["speakers"] == aws["speaker_labels"]["speakers"]
    ours_segments, aws_segments = ours["speaker_labels"]["segments"], aws["speaker_labels"]["segments"]
    assert [s["items"] for s in ours_segments] == [s["items"] for s in aws_segments]
    assert [(s["transcript"], s["speaker_label"], s["items"]) for s in ours["audio_segments"]] == [
        (s["transcript"], s["speaker_label"], s["items"]) for s in aws["audio_segments"]
    ]


# --- issue 15: word times kept, segments end at the speaker's pauses --------------------------


def test_speaker_labels_keep_the_word_times():
    # The turns' edges are tighter than the words' (the speaker segmentation draws them): the
    # words keep the plain transcript's times (cut to the VAD's speech before, for every job)
    # and take the speaker of the turn they overlap most, or of the nearest.
    words = [(" instead", 9.36, 10.62), (" one", 10.62, 11.86), (" from", 11.86, 13.8), (" hm", 20.0, 20.2)]
    turns = [SpeakerTurn(0, 7.2, 9.8), SpeakerTurn(1, 10.97, 11.3), SpeakerTurn(1, 11.4, 11.78)]
    turns.append(SpeakerTurn(2, 13.27, 19.46))

    items = labelled_results(transcription_tokens(_transcription(words)), turns)["items"]

    assert [(i["start_time"], i["end_time"]) for i in items if i["type"] == "pronunciation"] == [
        ("9.36", "10.62"),
        ("10.62", "11.86"),
        ("11.86", "13.8"),
        ("20.0", "20.2"),
    ]
    assert [i["speaker_label"] for i in items if i["type"] == "pronunciation"] == ["spk_0", "spk_1", "spk_2", "spk_2"]


def _one_speaker(words: list[list[tuple[str, float, float]]], turns: list[tuple[float, float]]) -> dict:
    tokens = transcription_tokens(_transcription(*words))
    return labelled_results(tokens, [SpeakerTurn(0, start, end) for start, end in turns])


def _spans(segments: list[dict]) -> list[tuple[str, str]]:
    return [(s["start_time"], s["end_time"]) for s in segments]


def test_a_pause_of_the_speaker_over_half_a_second_ends_a_segment():
    # One Whisper segment, a 0.8 s pause between "so" and "then" that no turn covers.
    results = _one_speaker([[(" so", 0.0, 0.4), (" then", 1.2, 1.5)]], [(0.0, 0.45), (1.15, 1.5)])

    assert _spans(results["speaker_labels"]["segments"]) == [("0.0", "0.4"), ("1.2", "1.5")]
    assert [s["transcript"] for s in results["audio_segments"]] == ["so", "then"]


def test_a_gap_the_speakers_turn_covers_joins_whispers_segments():
    # Whisper ended a segment in a 0.8 s gap the speaker talked through (words it missed).
    results = _one_speaker([[(" so", 0.0, 0.4)], [(" then", 1.2, 1.5)]], [(0.0, 1.5)])

    assert _spans(results["speaker_labels"]["segments"]) == [("0.0", "1.5")]
    assert [s["transcript"] for s in results["audio_segments"]] == ["so then"]


def test_short_gaps_and_long_ones_at_whispers_boundaries_keep_them():
    # 0.3 s between Whisper's segments: one speaker segment, two audio segments (as without
    # speaker labels); 1.5 s: two of each, even with the turn running through.
    short = _one_speaker([[(" so", 0.0, 0.4)], [(" then", 0.7, 1.0)]], [(0.0, 1.0)])
    long = _one_speaker([[(" so", 0.0, 0.4)], [(" then", 1.9, 2.2)]], [(0.0, 2.2)])

    assert _spans(short["speaker_labels"]["segments"]) == [("0.0", "1.0")]
    assert [s["transcript"] for s in short["audio_segments"]] == ["so", "then"]
    assert _spans(long["speaker_labels"]["segments"]) == [("0.0", "0.4"), ("1.9", "2.2")]
    assert [s["transcript"] for s in long["audio_segments"]] == ["so", "then"]


def test_a_segment_ends_where_the_words_stretched_over_a_pause_are_cut_back():
    # Whisper's "yes" runs 1.9 s into the silence before "right": cut to the VAD's speech (as
    # the pipeline does for every job, emulator.service.segmentation), the gap is a pause.
    from emulator.service.segmentation import snap_to_speech

    speech = [(0.0, 0.6), (2.9, 3.4)]
    tokens = snap_to_speech(transcription_tokens(_transcription([(" yes", 0.0, 2.5), (" right", 3.0, 3.4)])), speech)
    results = labelled_results(tokens, [SpeakerTurn(0, start, end) for start, end in speech])

    assert _spans(results["speaker_labels"]["segments"]) == [("0.0", "0.6"), ("3.0", "3.4")]


def test_overlapping_turns_a_word_goes_to_the_voice_it_overlaps():
    # The diarizer hears a back-channel (speaker 1, 2-3 s) inside speaker 0's long turn: words
    # after it still find the long turn, words in the gap after both the nearest one.
    transcription = _transcription([(" so", 0.5, 0.9), (" yeah", 2.2, 2.8), (" then", 5.0, 5.6), (" ok", 10.6, 10.8)])
    turns = [SpeakerTurn(0, 0.0, 10.0), SpeakerTurn(1, 2.0, 3.0), SpeakerTurn(1, 11.0, 12.0)]

    labels = [label for _, label in _labels(labelled_results(transcription_tokens(transcription), turns))]

    assert labels == ["spk_0", "spk_0", "spk_0", "spk_1"]
