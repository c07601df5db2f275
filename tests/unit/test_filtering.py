"""Vocabulary filters (mask/remove/tag) and DisplayAs on hand-built tokens, checked on the
Transcribe `results` they render as (digest §4; emulator.service.output.render_tokens)."""

from dataclasses import replace

import pytest

from emulator.service.filtering import display_as, join_items, vocabulary_filter
from emulator.service.output import render_tokens
from emulator.service.tokens import Token
from emulator.service.vocabulary_tables import parse_phrases, parse_table
from tests.unit.transcript_items import token_of_item


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


def tokens_of(*segments: str) -> list[Token]:
    """The tokens of `build(*segments)`: its items' kinds, contents, confidences and times, and
    the audio segment each belongs to."""
    results = build(*segments)
    segment_of = {i: number for number, segment in enumerate(results["audio_segments"]) for i in segment["items"]}
    return [token_of_item(item, segment_of[item["id"]]) for item in results["items"]]


def filtered(tokens: list[Token], words: list[str], method: str) -> dict:
    """The `results` of `tokens` after the filter."""
    return render_tokens(vocabulary_filter(tokens, words, method))


def displayed(tokens: list[Token], vocabulary) -> dict:
    """The `results` of `tokens` after DisplayAs."""
    return render_tokens(display_as(tokens, vocabulary))


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
    results = filtered(tokens_of("Oh darn, it broke.", "Darn it!"), ["darn"], "mask")
    assert contents(results) == ["Oh", "***", ",", "it", "broke", ".", "***", "it", "!"]
    assert transcript(results) == "Oh ***, it broke. *** it!"
    assert segment_texts(results) == ["Oh ***, it broke.", "*** it!"]
    assert_consistent(results)


def test_mask_is_case_insensitive_and_whole_word_only():
    results = filtered(tokens_of("DARN darned darn's Darn."), ["Darn"], "mask")
    assert contents(results) == ["***", "darned", "darn's", "***", "."]


def test_mask_keeps_times_and_confidence():
    tokens = tokens_of("Oh darn.")
    original = render_tokens(tokens)
    masked = filtered(tokens, ["darn"], "mask")["items"][1]
    assert masked == {**original["items"][1], "alternatives": [{"confidence": "0.91", "content": "***"}]}


def test_curly_and_straight_apostrophes_match():
    results = filtered(tokens_of("I don’t know."), ["don't"], "mask")
    assert transcript(results) == "I *** know."


def test_filter_does_not_modify_its_input():
    original = tokens_of("Oh darn.")
    kept = list(original)
    for method in ("mask", "remove", "tag"):
        filtered(original, ["darn"], method)
    assert original == kept


def test_punctuation_never_matches():
    results = filtered(tokens_of("Stop."), ["."], "mask")
    assert transcript(results) == "Stop."


def test_multi_word_entry_masks_consecutive_words():
    results = filtered(tokens_of("Oh good grief, good work."), ["good grief"], "mask")
    assert transcript(results) == "Oh *** ***, good work."


def test_multi_word_entry_does_not_span_punctuation_or_segments():
    assert transcript(filtered(tokens_of("Good, grief."), ["good grief"], "mask")) == "Good, grief."
    assert transcript(filtered(tokens_of("So good", "grief."), ["good grief"], "mask")) == "So good grief."


# --- tag ----------------------------------------------------------------------------------------


def test_tag_marks_matching_items_only():
    tokens = tokens_of("Oh darn, darn it.")
    original = render_tokens(tokens)
    results = filtered(tokens, ["darn"], "tag")
    assert [i for i, item in enumerate(results["items"]) if item.get("vocabularyFilterMatch")] == [1, 3]
    assert all("vocabularyFilterMatch" not in item for i, item in enumerate(results["items"]) if i not in (1, 3))
    assert results["items"][1]["vocabularyFilterMatch"] is True
    assert transcript(results) == transcript(original)
    assert results["audio_segments"] == original["audio_segments"]


# --- remove -------------------------------------------------------------------------------------


def test_remove_drops_words_and_renumbers():
    results = filtered(tokens_of("Oh darn it broke.", "Fix it."), ["darn"], "remove")
    assert contents(results) == ["Oh", "it", "broke", ".", "Fix", "it", "."]
    assert transcript(results) == "Oh it broke. Fix it."
    assert results["audio_segments"][0]["items"] == [0, 1, 2, 3]
    assert results["audio_segments"][1]["items"] == [4, 5, 6]
    assert_consistent(results)


def test_remove_first_word_drops_dangling_punctuation_and_moves_segment_start():
    results = filtered(tokens_of("Darn. It works.", "Darn, again."), ["darn"], "remove")
    assert transcript(results) == "It works. again."
    assert segment_texts(results) == ["It works.", "again."]
    assert results["audio_segments"][0]["start_time"] == "1.0"
    assert_consistent(results)


def test_remove_between_punctuation_keeps_the_later_mark():
    results = filtered(tokens_of("Hello, darn, world.", "I said, darn!"), ["darn"], "remove")
    assert transcript(results) == "Hello, world. I said!"
    assert_consistent(results)


def test_remove_every_word_of_a_segment_drops_the_segment():
    results = filtered(tokens_of("First part.", "Darn darn.", "Last part."), ["darn"], "remove")
    assert segment_texts(results) == ["First part.", "Last part."]
    assert transcript(results) == "First part. Last part."
    assert_consistent(results)


def test_remove_everything():
    results = filtered(tokens_of("Darn!"), ["darn"], "remove")
    assert results == {"transcripts": [{"transcript": ""}], "items": [], "audio_segments": []}


def test_remove_multi_word_entry():
    results = filtered(tokens_of("Oh good grief, it broke."), ["Good Grief"], "remove")
    assert transcript(results) == "Oh, it broke."
    assert_consistent(results)


def test_no_match_changes_nothing():
    tokens = tokens_of("Hello there.", "General Kenobi!")
    original = render_tokens(tokens)
    for method in ("mask", "remove", "tag"):
        assert filtered(tokens, ["darn"], method) == original


def test_unknown_method():
    with pytest.raises(ValueError):
        filtered(tokens_of("Hi."), ["hi"], "redact")


# --- DisplayAs ----------------------------------------------------------------------------------


def vocabulary(*rows: str):
    return parse_table(("Phrase\tDisplayAs\n" + "\n".join(rows) + "\n").encode())


def test_single_word_display_as():
    results = displayed(tokens_of("Ask the fbi now."), vocabulary("F.B.I.\tFBI"))
    assert contents(results) == ["Ask", "the", "FBI", "now", "."]
    assert transcript(results) == "Ask the FBI now."
    assert_consistent(results)


def test_multi_word_phrase_merges_items_across_their_times():
    results = displayed(tokens_of("We flew to los angeles today.", "Bye."), vocabulary("Los-Angeles\tL.A."))
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
    assert transcript(displayed(tokens_of("Use dynamodb."), vocab)) == "Use DynamoDB."
    assert transcript(displayed(tokens_of("Use Dynamo DB."), vocab)) == "Use DynamoDB."
    assert transcript(displayed(tokens_of("Use dynamo-db."), vocab)) == "Use DynamoDB."


def test_lowest_confidence_of_the_merged_words():
    tokens = tokens_of("in new york")
    tokens[1] = replace(tokens[1], confidence=0.5)
    merged = displayed(tokens, vocabulary("New-York\tNYC"))["items"][1]
    assert merged["alternatives"][0] == {"confidence": "0.5", "content": "NYC"}


def test_longest_phrase_wins():
    vocab = vocabulary("New\tNEW", "New-York-City\tNYC", "New-York\tNY")
    assert transcript(displayed(tokens_of("new york city and new york and new."), vocab)) == "NYC and NY and NEW."


def test_phrase_does_not_span_punctuation_or_segments():
    vocab = vocabulary("Los-Angeles\tL.A.")
    assert transcript(displayed(tokens_of("Los, angeles."), vocab)) == "Los, angeles."
    assert segment_texts(displayed(tokens_of("Los", "angeles."), vocab)) == ["Los", "angeles."]


def test_partial_phrase_is_not_replaced():
    assert transcript(displayed(tokens_of("The los lobos band."), vocabulary("Los-Angeles\tL.A."))) == (
        "The los lobos band."
    )


def test_entries_without_display_as_leave_text_alone():
    tokens = tokens_of("We use kubernetes.")
    assert displayed(tokens, parse_phrases(["Kubernetes"])) == render_tokens(tokens)


def test_display_as_then_filter():
    tokens = display_as(tokens_of("Darn los angeles traffic."), vocabulary("Los-Angeles\tLos Angeles"))
    results = filtered(tokens, ["traffic"], "remove")
    assert transcript(results) == "Darn Los Angeles."
    assert_consistent(results)
