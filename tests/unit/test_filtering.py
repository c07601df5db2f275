"""Vocabulary filters (mask/remove/tag) and DisplayAs on hand-built Transcribe `results` (digest §4)."""

import copy

import pytest

from emulator.service.filtering import apply_display_as, apply_vocabulary_filter, join_items
from emulator.service.vocabulary_tables import parse_phrases, parse_table


def build(*segments: str) -> dict:
    """`results` from segment texts; tokens split on spaces, ".,?!" as separate punctuation items.

    Word n (counting words only) runs from n to n + 0.5 seconds with confidence "0.9n".
    """
    items, audio_segments, word_number = [], [], 0
    for text in segments:
        first = len(items)
        for token in text.split():
            marks = []
            while token and token[-1] in ".,?!":
                marks.insert(0, token[-1])
                token = token[:-1]
            if token:
                items.append(
                    {
                        "id": len(items),
                        "type": "pronunciation",
                        "alternatives": [{"confidence": f"0.9{word_number}", "content": token}],
                        "start_time": f"{word_number}.0",
                        "end_time": f"{word_number}.5",
                    }
                )
                word_number += 1
            for mark in marks:
                punctuation = {"confidence": "0.0", "content": mark}
                items.append({"id": len(items), "type": "punctuation", "alternatives": [punctuation]})
        ids = list(range(first, len(items)))
        words = [items[i] for i in ids if items[i]["type"] == "pronunciation"]
        audio_segments.append(
            {
                "id": len(audio_segments),
                "transcript": join_items([items[i] for i in ids]),
                "start_time": words[0]["start_time"],
                "end_time": words[-1]["end_time"],
                "items": ids,
            }
        )
    return {
        "transcripts": [{"transcript": join_items(items)}],
        "items": items,
        "audio_segments": audio_segments,
    }


def contents(results: dict) -> list[str]:
    return [item["alternatives"][0]["content"] for item in results["items"]]


def transcript(results: dict) -> str:
    return results["transcripts"][0]["transcript"]


def segment_texts(results: dict) -> list[str]:
    return [segment["transcript"] for segment in results["audio_segments"]]


def assert_consistent(results: dict) -> None:
    """Ids 0..n-1, every item in exactly one segment in order, texts rebuilt from items."""
    items = results["items"]
    assert [item["id"] for item in items] == list(range(len(items)))
    assert [i for segment in results["audio_segments"] for i in segment["items"]] == list(range(len(items)))
    assert [segment["id"] for segment in results["audio_segments"]] == list(range(len(results["audio_segments"])))
    for segment in results["audio_segments"]:
        assert segment["transcript"] == join_items([items[i] for i in segment["items"]])
        words = [items[i] for i in segment["items"] if items[i]["type"] == "pronunciation"]
        assert (segment["start_time"], segment["end_time"]) == (words[0]["start_time"], words[-1]["end_time"])
    assert transcript(results) == join_items(items)


def test_builder_matches_the_digest_shape():
    results = build("Hello there.")
    assert results == {
        "transcripts": [{"transcript": "Hello there."}],
        "items": [
            {
                "id": 0,
                "type": "pronunciation",
                "alternatives": [{"confidence": "0.90", "content": "Hello"}],
                "start_time": "0.0",
                "end_time": "0.5",
            },
            {
                "id": 1,
                "type": "pronunciation",
                "alternatives": [{"confidence": "0.91", "content": "there"}],
                "start_time": "1.0",
                "end_time": "1.5",
            },
            {"id": 2, "type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]},
        ],
        "audio_segments": [
            {"id": 0, "transcript": "Hello there.", "start_time": "0.0", "end_time": "1.5", "items": [0, 1, 2]}
        ],
    }


# --- mask ---------------------------------------------------------------------------------------


def test_mask_replaces_each_matching_word_everywhere():
    results = apply_vocabulary_filter(build("Oh darn, it broke.", "Darn it!"), ["darn"], "mask")
    assert contents(results) == ["Oh", "***", ",", "it", "broke", ".", "***", "it", "!"]
    assert transcript(results) == "Oh ***, it broke. *** it!"
    assert segment_texts(results) == ["Oh ***, it broke.", "*** it!"]
    assert_consistent(results)


def test_mask_is_case_insensitive_and_whole_word_only():
    results = apply_vocabulary_filter(build("DARN darned darn's Darn."), ["Darn"], "mask")
    assert contents(results) == ["***", "darned", "darn's", "***", "."]


def test_mask_keeps_times_and_confidence():
    original = build("Oh darn.")
    masked = apply_vocabulary_filter(original, ["darn"], "mask")["items"][1]
    assert masked == {**original["items"][1], "alternatives": [{"confidence": "0.91", "content": "***"}]}


def test_curly_and_straight_apostrophes_match():
    results = apply_vocabulary_filter(build("I don’t know."), ["don't"], "mask")
    assert transcript(results) == "I *** know."


def test_filter_does_not_modify_its_input():
    original = build("Oh darn.")
    kept = copy.deepcopy(original)
    for method in ("mask", "remove", "tag"):
        apply_vocabulary_filter(original, ["darn"], method)
    assert original == kept


def test_punctuation_never_matches():
    results = apply_vocabulary_filter(build("Stop."), ["."], "mask")
    assert transcript(results) == "Stop."


def test_multi_word_entry_masks_consecutive_words():
    results = apply_vocabulary_filter(build("Oh good grief, good work."), ["good grief"], "mask")
    assert transcript(results) == "Oh *** ***, good work."


def test_multi_word_entry_does_not_span_punctuation_or_segments():
    assert transcript(apply_vocabulary_filter(build("Good, grief."), ["good grief"], "mask")) == "Good, grief."
    assert transcript(apply_vocabulary_filter(build("So good", "grief."), ["good grief"], "mask")) == "So good grief."


# --- tag ----------------------------------------------------------------------------------------


def test_tag_marks_matching_items_only():
    original = build("Oh darn, darn it.")
    results = apply_vocabulary_filter(original, ["darn"], "tag")
    assert [i for i, item in enumerate(results["items"]) if item.get("vocabularyFilterMatch")] == [1, 3]
    assert all("vocabularyFilterMatch" not in item for i, item in enumerate(results["items"]) if i not in (1, 3))
    assert results["items"][1]["vocabularyFilterMatch"] is True
    assert transcript(results) == transcript(original)
    assert results["audio_segments"] == original["audio_segments"]


# --- remove -------------------------------------------------------------------------------------


def test_remove_drops_words_and_renumbers():
    results = apply_vocabulary_filter(build("Oh darn it broke.", "Fix it."), ["darn"], "remove")
    assert contents(results) == ["Oh", "it", "broke", ".", "Fix", "it", "."]
    assert transcript(results) == "Oh it broke. Fix it."
    assert results["audio_segments"][0]["items"] == [0, 1, 2, 3]
    assert results["audio_segments"][1]["items"] == [4, 5, 6]
    assert_consistent(results)


def test_remove_first_word_drops_dangling_punctuation_and_moves_segment_start():
    results = apply_vocabulary_filter(build("Darn. It works.", "Darn, again."), ["darn"], "remove")
    assert transcript(results) == "It works. again."
    assert segment_texts(results) == ["It works.", "again."]
    assert results["audio_segments"][0]["start_time"] == "1.0"
    assert_consistent(results)


def test_remove_between_punctuation_keeps_the_later_mark():
    results = apply_vocabulary_filter(build("Hello, darn, world.", "I said, darn!"), ["darn"], "remove")
    assert transcript(results) == "Hello, world. I said!"
    assert_consistent(results)


def test_remove_every_word_of_a_segment_drops_the_segment():
    results = apply_vocabulary_filter(build("First part.", "Darn darn.", "Last part."), ["darn"], "remove")
    assert segment_texts(results) == ["First part.", "Last part."]
    assert transcript(results) == "First part. Last part."
    assert_consistent(results)


def test_remove_everything():
    results = apply_vocabulary_filter(build("Darn!"), ["darn"], "remove")
    assert results == {"transcripts": [{"transcript": ""}], "items": [], "audio_segments": []}


def test_remove_multi_word_entry():
    results = apply_vocabulary_filter(build("Oh good grief, it broke."), ["Good Grief"], "remove")
    assert transcript(results) == "Oh, it broke."
    assert_consistent(results)


def test_no_match_changes_nothing():
    original = build("Hello there.", "General Kenobi!")
    for method in ("mask", "remove", "tag"):
        assert apply_vocabulary_filter(original, ["darn"], method) == original


def test_unknown_method():
    with pytest.raises(ValueError):
        apply_vocabulary_filter(build("Hi."), ["hi"], "redact")


# --- DisplayAs ----------------------------------------------------------------------------------


def vocabulary(*rows: str):
    return parse_table(("Phrase\tDisplayAs\n" + "\n".join(rows) + "\n").encode())


def test_single_word_display_as():
    results = apply_display_as(build("Ask the fbi now."), vocabulary("F.B.I.\tFBI"))
    assert contents(results) == ["Ask", "the", "FBI", "now", "."]
    assert transcript(results) == "Ask the FBI now."
    assert_consistent(results)


def test_multi_word_phrase_merges_items_across_their_times():
    results = apply_display_as(build("We flew to los angeles today.", "Bye."), vocabulary("Los-Angeles\tL.A."))
    assert contents(results) == ["We", "flew", "to", "L.A.", "today", ".", "Bye", "."]
    merged = results["items"][3]
    assert merged == {
        "id": 3,
        "type": "pronunciation",
        "alternatives": [{"confidence": "0.93", "content": "L.A."}],
        "start_time": "3.0",
        "end_time": "4.5",
    }
    assert transcript(results) == "We flew to L.A. today. Bye."
    assert results["audio_segments"][0]["items"] == [0, 1, 2, 3, 4, 5]
    assert results["audio_segments"][1]["items"] == [6, 7]
    assert_consistent(results)


def test_phrase_matches_however_the_recogniser_split_it():
    vocab = vocabulary("Dynamo-D.B.\tDynamoDB")
    assert transcript(apply_display_as(build("Use dynamodb."), vocab)) == "Use DynamoDB."
    assert transcript(apply_display_as(build("Use Dynamo DB."), vocab)) == "Use DynamoDB."
    assert transcript(apply_display_as(build("Use dynamo-db."), vocab)) == "Use DynamoDB."


def test_lowest_confidence_of_the_merged_words():
    results = build("in new york")
    results["items"][1]["alternatives"][0]["confidence"] = "0.5"
    merged = apply_display_as(results, vocabulary("New-York\tNYC"))["items"][1]
    assert merged["alternatives"][0] == {"confidence": "0.5", "content": "NYC"}


def test_longest_phrase_wins():
    vocab = vocabulary("New\tNEW", "New-York-City\tNYC", "New-York\tNY")
    assert transcript(apply_display_as(build("new york city and new york and new."), vocab)) == "NYC and NY and NEW."


def test_phrase_does_not_span_punctuation_or_segments():
    vocab = vocabulary("Los-Angeles\tL.A.")
    assert transcript(apply_display_as(build("Los, angeles."), vocab)) == "Los, angeles."
    assert segment_texts(apply_display_as(build("Los", "angeles."), vocab)) == ["Los", "angeles."]


def test_partial_phrase_is_not_replaced():
    assert transcript(apply_display_as(build("The los lobos band."), vocabulary("Los-Angeles\tL.A."))) == (
        "The los lobos band."
    )


def test_entries_without_display_as_leave_text_alone():
    original = build("We use kubernetes.")
    assert apply_display_as(original, parse_phrases(["Kubernetes"])) == original


def test_display_as_then_filter():
    results = apply_display_as(build("Darn los angeles traffic."), vocabulary("Los-Angeles\tLos Angeles"))
    results = apply_vocabulary_filter(results, ["traffic"], "remove")
    assert transcript(results) == "Darn Los Angeles."
    assert_consistent(results)
