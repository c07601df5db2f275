"""N-best alternatives (ShowAlternatives) with the real tiny.en model on real shared recordings:
the engine's hypotheses, then their rendering as `results.segments` (digest §4, §4.4)."""

from __future__ import annotations

import threading

import pytest

from emulator.engine.alternatives import Hypothesis, SegmentAlternatives, n_best, normalized
from emulator.engine.media import decode
from emulator.engine.recognizer import ModelLoadOptions, RecognitionOptions, Recognizer, Word
from emulator.service.alternatives import add_segments, render_segments, with_main_items
from emulator.service.filtering import vocabulary_filter
from emulator.service.output import render_tokens, transcription_tokens
from emulator.storage.models import ModelStore
from tests.support import audio_path

MODEL = "tiny.en"
ITEMS = ["jfk", "cards_002", "sb_spk2_snt3"]  # two segments; misheard card name; misheard first word
N = 3


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory) -> Recognizer:
    store = ModelStore(tmp_path_factory.mktemp("models"))
    return Recognizer(store.resolve, ModelLoadOptions())


@pytest.fixture(scope="module")
def decoded(recognizer):
    """decoded(item_id) -> (samples, main transcription, n_best(..., N)), computed once."""
    cache: dict[str, tuple] = {}

    def _decoded(item_id: str):
        if item_id not in cache:
            samples = decode(audio_path(item_id))
            main = recognizer.transcribe(samples, MODEL, RecognitionOptions(language="en"))
            cache[item_id] = (samples, main, n_best(recognizer.model(MODEL), samples, main.segments, "en", N))
        return cache[item_id]

    return _decoded


@pytest.mark.parametrize("item_id", ITEMS)
def test_one_entry_per_segment_with_its_times(decoded, item_id):
    _, main, alternatives = decoded(item_id)

    assert len(alternatives) == len(main.segments) >= 1
    for segment, entry in zip(main.segments, alternatives):
        assert (entry.start, entry.end) == (segment.start, segment.end)


@pytest.mark.parametrize("item_id", ITEMS)
def test_hypotheses_are_distinct_ordered_and_at_most_n(decoded, item_id):
    _, _, alternatives = decoded(item_id)

    for entry in alternatives:
        assert 1 <= len(entry.hypotheses) <= N
        texts = [normalized(h.text) for h in entry.hypotheses]
        assert len(set(texts)) == len(texts)
        confidences = [h.confidence for h in entry.hypotheses]
        assert confidences == sorted(confidences, reverse=True)
        assert all(0.0 < c <= 1.0 for c in confidences)


@pytest.mark.parametrize("item_id", ["cards_002", "sb_spk2_snt3"])
def test_uncertain_speech_gets_real_other_readings(decoded, item_id):
    _, main, alternatives = decoded(item_id)

    (entry,) = alternatives
    assert len(entry.hypotheses) >= 2
    main_words = [w.text for w in main.segments[0].words]
    for other in entry.hypotheses[1:]:
        assert [w.text for w in other.words] != main_words
        assert normalized("".join(w.text for w in other.words)) == normalized(other.text)


def test_the_right_reading_can_be_an_alternative(decoded):
    # tiny.en hears "old-sposed" in "he was not an ill disposed young man"; its beams also hold the truth.
    _, main, alternatives = decoded("librivox_0880")

    assert "ill disposed" not in normalized(main.segments[0].text)
    assert any("ill disposed" in normalized(h.text) for h in alternatives[0].hypotheses[1:])


@pytest.mark.parametrize("item_id", ITEMS)
def test_first_hypothesis_is_the_main_segment(decoded, item_id):
    _, main, alternatives = decoded(item_id)

    for segment, entry in zip(main.segments, alternatives):
        first = entry.hypotheses[0]
        assert first.text == segment.text
        assert first.words == segment.words


@pytest.mark.parametrize("item_id", ITEMS)
def test_word_times_lie_in_the_segment_in_order(decoded, item_id):
    _, _, alternatives = decoded(item_id)

    for entry in alternatives:
        for hypothesis in entry.hypotheses:
            assert hypothesis.words
            previous_end = entry.start
            for word in hypothesis.words:
                assert previous_end <= word.start <= word.end <= entry.end
                assert 0.0 <= word.probability <= 1.0
                previous_end = word.end


def test_max_alternatives_outside_2_to_10_is_refused(recognizer, decoded):
    samples, main, _ = decoded("cards_002")
    for n in (1, 11):
        with pytest.raises(ValueError):
            n_best(recognizer.model(MODEL), samples, main.segments, "en", n)


def test_concurrent_calls_give_the_sequential_answer(recognizer, decoded):
    samples, main, expected = decoded("sb_spk2_snt3")
    answers: list = [None, None]

    def run(slot: int) -> None:
        answers[slot] = n_best(recognizer.model(MODEL), samples, main.segments, "en", N)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for answer in answers:
        assert [[h.text for h in e.hypotheses] for e in answer] == [[h.text for h in e.hypotheses] for e in expected]


def test_normalized_ignores_case_and_punctuation_only():
    assert normalized("It's done.") == normalized("its Done") == "its done"
    assert normalized("well-known") == "well known"
    assert normalized("Rain forest.") != normalized("Rainforest.")


# --- rendering ------------------------------------------------------------------------------


def _all_strings(segment: dict) -> bool:
    values = [segment["start_time"], segment["end_time"]]
    for alternative in segment["alternatives"]:
        values.append(alternative["transcript"])
        for item in alternative["items"]:
            values.extend(item.values())
    return all(isinstance(v, str) for v in values)


@pytest.mark.parametrize("item_id", ITEMS)
def test_segments_have_aws_shape(decoded, item_id):
    _, _, alternatives = decoded(item_id)

    segments = render_segments(alternatives)

    assert segments
    for segment in segments:
        assert list(segment) == ["start_time", "end_time", "alternatives"]
        assert _all_strings(segment)
        assert 1 <= len(segment["alternatives"]) <= N
        for alternative in segment["alternatives"]:
            assert list(alternative) == ["transcript", "items"]
            for item in alternative["items"]:
                if item["type"] == "pronunciation":
                    assert list(item) == ["start_time", "end_time", "confidence", "content", "type"]
                    assert float(segment["start_time"]) <= float(item["start_time"]) <= float(item["end_time"])
                    assert float(item["end_time"]) <= float(segment["end_time"])
                else:
                    assert item["type"] == "punctuation"
                    assert item == {"confidence": "0.0", "content": item["content"], "type": "punctuation"}


@pytest.mark.parametrize("item_id", ITEMS)
def test_first_alternative_reads_as_the_transcript(decoded, item_id):
    _, main, alternatives = decoded(item_id)
    results = render_tokens(transcription_tokens(main))

    out = add_segments(results, alternatives)

    assert list(out) == ["transcripts", "items", "segments", "audio_segments"]
    assert [s["alternatives"][0]["transcript"] for s in out["segments"]] == [
        s["transcript"] for s in results["audio_segments"]
    ]
    flat_main = [
        {k: v for k, v in item.items() if k in ("start_time", "end_time")}
        | {"confidence": item["alternatives"][0]["confidence"], "content": item["alternatives"][0]["content"]}
        for item in results["items"]
    ]
    flat_first = [
        {k: v for k, v in item.items() if k != "type"}
        for segment in out["segments"]
        for item in segment["alternatives"][0]["items"]
    ]
    assert flat_first == flat_main
    assert render_segments(alternatives) == out["segments"]  # nothing to change before filtering


def test_masked_words_are_masked_in_the_first_alternative(decoded):
    _, main, alternatives = decoded("jfk")
    results = render_tokens(vocabulary_filter(transcription_tokens(main), ["country"], "mask"))

    segments = with_main_items(render_segments(alternatives), results["items"])

    firsts = [s["alternatives"][0]["transcript"] for s in segments]
    assert firsts == [s["transcript"] for s in results["audio_segments"]]
    assert all("country" not in t and "***" in t for t in firsts)


def test_segment_whose_words_were_all_removed_is_dropped(decoded):
    _, main, alternatives = decoded("cards_002")
    words = [w.text.strip(" .,") for w in main.segments[0].words]
    results = render_tokens(vocabulary_filter(transcription_tokens(main), words, "remove"))

    assert with_main_items(render_segments(alternatives), results["items"]) == []


def test_synthetic_segment_renders_like_the_digest_example():
    entry = SegmentAlternatives(
        0.1,
        0.9,
        (
            Hypothesis("Rain forest.", (Word(0.1, 0.4, " Rain", 0.91), Word(0.4, 0.9, " forest.", 0.88)), 0.9),
            Hypothesis("Rainforest.", (Word(0.1, 0.9, " Rainforest.", 0.07),), 0.1),
        ),
    )

    assert render_segments([entry]) == [
        {
            "start_time": "0.1",
            "end_time": "0.9",
            "alternatives": [
                {
                    "transcript": "Rain forest.",
                    "items": [
                        {"start_time": "0.1", "end_time": "0.4", "confidence": "0.91", "content": "Rain", "type": "pronunciation"},
                        {"start_time": "0.4", "end_time": "0.9", "confidence": "0.88", "content": "forest", "type": "pronunciation"},
                        {"confidence": "0.0", "content": ".", "type": "punctuation"},
                    ],
                },
                {
                    "transcript": "Rainforest.",
                    "items": [
                        {"start_time": "0.1", "end_time": "0.9", "confidence": "0.07", "content": "Rainforest", "type": "pronunciation"},
                        {"confidence": "0.0", "content": ".", "type": "punctuation"},
                    ],
                },
            ],
        }
    ]


def test_an_alternative_word_timed_over_the_words_after_it_ends_where_they_start():
    # As the items' words (segmentation.end_failed_alignments): meeting2's "1-0" of 11.8 s.
    words = (Word(12.62, 24.42, " 1-0", 0.4), Word(13.67, 14.03, " against", 0.9), Word(14.03, 14.33, " the", 0.9))
    segment = SegmentAlternatives(12.62, 24.42, (Hypothesis("1-0 against the", words, 0.5),))

    items = render_segments([segment])[0]["alternatives"][0]["items"]

    assert [(i["content"], i["start_time"], i["end_time"]) for i in items] == [
        ("1-0", "12.62", "13.67"),
        ("against", "13.67", "14.03"),
        ("the", "14.03", "14.33"),
    ]
