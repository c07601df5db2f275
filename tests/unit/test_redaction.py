"""PII redaction of transcript results (hand-built) with the real detector."""

from __future__ import annotations

import copy

import pytest

from emulator.engine.pii import PiiDetector
from emulator.service.redaction import detector_types, mark_redacted, redact_results


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def item(item_id: int, kind: str, content: str, start: float | None, labels: dict) -> dict:
    """An item in output.render_item's key order; speaker_label last, as diarization adds it."""
    out: dict = {"id": item_id}
    if "channel_label" in labels:
        out["channel_label"] = labels["channel_label"]
    out["type"] = kind
    out["alternatives"] = [{"confidence": "0.99" if start is not None else "0.0", "content": content}]
    if start is not None:
        out["start_time"] = f"{start:.2f}"
        out["end_time"] = f"{start + 0.3:.2f}"
    out.update((k, v) for k, v in labels.items() if k != "channel_label")
    return out


def results_of(*segments: list[str], **labels) -> dict:
    """Results as output.render_results builds them: one audio segment per list of tokens."""
    items: list[dict] = []
    audio_segments = []
    for tokens in segments:
        first = len(items)
        for token in tokens:
            if token in ".,?!":
                items.append(item(len(items), "punctuation", token, None, labels))
            else:
                items.append(item(len(items), "pronunciation", token, 0.3 * len(items), labels))
        ids = list(range(first, len(items)))
        words = [items[i] for i in ids if items[i]["type"] == "pronunciation"]
        text = "".join(t if t in ".,?!" or not i else " " + t for i, t in enumerate(tokens))
        audio_segments.append(
            {
                "id": len(audio_segments),
                "transcript": text,
                "start_time": words[0]["start_time"],
                "end_time": words[-1]["end_time"],
                "items": ids,
            }
        )
    transcript = " ".join(s["transcript"] for s in audio_segments)
    return {"transcripts": [{"transcript": transcript}], "items": items, "audio_segments": audio_segments}


def contents(results: dict) -> list[str]:
    return [item["alternatives"][0]["content"] for item in results["items"]]


def redactions(results: dict) -> dict[int, str]:
    return {
        item["id"]: item["alternatives"][0]["redactions"][0]["type"]
        for item in results["items"]
        if "redactions" in item["alternatives"][0]
    }


NAME_AND_PHONE = (
    ["Hello", ",", "my", "name", "is", "John", "Smith", "."],
    ["My", "phone", "number", "is", "206-555-0123", "."],
)


def test_each_word_of_an_entity_becomes_a_pii_item(detector):
    results = results_of(*NAME_AND_PHONE)

    redacted = redact_results(results, detector)

    assert redactions(redacted) == {5: "NAME", 6: "NAME", 12: "PHONE"}
    assert redacted["items"][5] == {
        "id": 5,
        "type": "pronunciation",
        "alternatives": [
            {"content": "[PII]", "redactions": [{"confidence": "0.85", "type": "NAME", "category": "PII"}]}
        ],
        "start_time": results["items"][5]["start_time"],
        "end_time": results["items"][5]["end_time"],
    }
    assert redacted["transcripts"] == [{"transcript": "Hello, my name is [PII] [PII]. My phone number is [PII]."}]
    assert [s["transcript"] for s in redacted["audio_segments"]] == [
        "Hello, my name is [PII] [PII].",
        "My phone number is [PII].",
    ]


def test_everything_else_is_unchanged(detector):
    results = results_of(*NAME_AND_PHONE)

    redacted = redact_results(results, detector)

    for before, after in zip(results["items"], redacted["items"]):
        if before["id"] not in (5, 6, 12):
            assert after == before
    for before, after in zip(results["audio_segments"], redacted["audio_segments"]):
        assert {k: v for k, v in after.items() if k != "transcript"} == {
            k: v for k, v in before.items() if k != "transcript"
        }


def test_the_unredacted_results_are_left_alone(detector):
    results = results_of(*NAME_AND_PHONE)
    original = copy.deepcopy(results)

    redact_results(results, detector)

    assert results == original


def test_no_pii_no_change(detector):
    results = results_of(["The", "weather", "is", "fine", "today", "."])

    assert redact_results(results, detector) == results


@pytest.mark.parametrize("requested", [None, [], ["ALL"], ["NAME", "ALL"]])
def test_all_types_by_default(detector, requested):
    assert redactions(redact_results(results_of(*NAME_AND_PHONE), detector, requested)) == {
        5: "NAME",
        6: "NAME",
        12: "PHONE",
    }


def test_only_the_requested_types(detector):
    results = results_of(*NAME_AND_PHONE)

    assert redactions(redact_results(results, detector, ["PHONE"])) == {12: "PHONE"}
    assert redactions(redact_results(results, detector, ["NAME", "SSN"])) == {5: "NAME", 6: "NAME"}
    assert redact_results(results, detector, ["EMAIL"]) == results


def test_unknown_type_is_refused(detector):
    with pytest.raises(ValueError, match="PERSON"):
        redact_results(results_of(*NAME_AND_PHONE), detector, ["PERSON"])


def test_a_spoken_email_address_is_one_entity(detector):
    results = results_of(["My", "email", "address", "is", "John", "Smith", "at", "gmail", "com", "."])

    redacted = redact_results(results, detector)

    assert redactions(redacted) == {4: "EMAIL", 5: "EMAIL", 6: "EMAIL", 7: "EMAIL", 8: "EMAIL"}
    assert redacted["transcripts"][0]["transcript"] == "My email address is [PII] [PII] [PII] [PII] [PII]."


def test_punctuation_inside_an_entity_stays(detector):
    results = results_of(["My", "credit", "card", "number", "is", "4532", ",", "0151", ",", "1283", ",", "0366", "."])

    redacted = redact_results(results, detector)

    assert set(redactions(redacted).values()) == {"CREDIT_DEBIT_NUMBER"}
    assert redacted["transcripts"][0]["transcript"] == "My credit card number is [PII], [PII], [PII], [PII]."
    assert redacted["items"][6]["alternatives"] == [{"confidence": "0.0", "content": ","}]
    confidence = redacted["items"][5]["alternatives"][0]["redactions"][0]["confidence"]
    assert confidence == "1.0"


def test_bank_and_identity_numbers(detector):
    results = results_of(
        ["My", "social", "security", "number", "is", "536-22-1457", "."],
        ["My", "routing", "number", "is", "011000015", "and"],
        ["my", "account", "number", "is", "1234", "5678", "9012", "."],
        ["The", "CVV", "is", "123", "and", "my", "PIN", "is", "4321", "."],
    )

    assert redactions(redact_results(results, detector)) == {
        5: "SSN",
        11: "BANK_ROUTING",
        17: "BANK_ACCOUNT_NUMBER",
        18: "BANK_ACCOUNT_NUMBER",
        19: "BANK_ACCOUNT_NUMBER",
        24: "CREDIT_DEBIT_CVV",
        29: "PIN",
    }


def test_speaker_labels_stay_on_redacted_items(detector):
    results = results_of(*NAME_AND_PHONE, speaker_label="spk_0")

    redacted = redact_results(results, detector)

    assert redacted["items"][5]["speaker_label"] == "spk_0"
    assert redacted["items"][5]["alternatives"][0]["content"] == "[PII]"


def test_channel_labels_are_rebuilt_from_the_redacted_items(detector):
    results = results_of(*NAME_AND_PHONE, channel_label="ch_0")
    results["channel_labels"] = {
        "channels": [
            {"channel_label": "ch_0", "items": [{k: v for k, v in i.items() if k != "id"} for i in results["items"]]},
            {"channel_label": "ch_1", "items": []},
        ],
        "number_of_channels": 2,
    }

    redacted = redact_results(results, detector)

    channel = redacted["channel_labels"]["channels"][0]
    assert [i["alternatives"][0]["content"] for i in channel["items"]] == contents(redacted)
    assert channel["items"][5]["alternatives"][0]["redactions"][0]["type"] == "NAME"
    assert "id" not in channel["items"][5]
    assert redacted["channel_labels"]["channels"][1] == {"channel_label": "ch_1", "items": []}
    assert redacted["channel_labels"]["number_of_channels"] == 2


def test_alternatives_segments_are_redacted_too(detector):
    results = results_of(*NAME_AND_PHONE)
    flat = [
        {k: v for k, v in i.items() if k not in ("id", "alternatives")} | i["alternatives"][0]
        for i in results["items"][:8]
    ]
    results["segments"] = [
        {"start_time": "0.0", "end_time": "2.4",
         "alternatives": [{"transcript": "Hello, my name is John Smith.", "items": flat}]}
    ]

    redacted = redact_results(results, detector)

    alternative = redacted["segments"][0]["alternatives"][0]
    assert alternative["transcript"] == "Hello, my name is [PII] [PII]."
    assert alternative["items"][5] == {
        "type": "pronunciation",
        "start_time": flat[5]["start_time"],
        "end_time": flat[5]["end_time"],
        "content": "[PII]",
        "redactions": [{"confidence": "0.85", "type": "NAME", "category": "PII"}],
    }
    assert alternative["items"][4] == flat[4]


def test_long_transcripts_are_analysed_in_pieces(detector):
    filler = ["The", "weather", "is", "fine", "today", "."] * 1500  # ~40,000 characters
    results = results_of(filler + ["My", "name", "is", "John", "Smith", "."])

    redacted = redact_results(results, detector)

    assert redactions(redacted) == {len(filler) + 3: "NAME", len(filler) + 4: "NAME"}
    assert redacted["transcripts"][0]["transcript"].endswith("My name is [PII] [PII].")


def test_detector_types():
    assert detector_types(["NAME", "ADDRESS"]) == ["PERSON", "LOCATION"]
    assert len(detector_types(None)) == 11
    assert detector_types(["BANK_ROUTING"]) == ["ABA_ROUTING_NUMBER"]


def test_is_redacted_follows_account_id():
    transcript = {"jobName": "j", "accountId": "123456789012", "status": "COMPLETED", "results": {}}

    assert list(mark_redacted(transcript, True).items()) == [
        ("jobName", "j"),
        ("accountId", "123456789012"),
        ("isRedacted", True),
        ("status", "COMPLETED"),
        ("results", {}),
    ]
    assert mark_redacted(mark_redacted(transcript, True), False)["isRedacted"] is False
    assert "isRedacted" not in transcript
