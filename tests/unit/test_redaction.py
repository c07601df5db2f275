"""PII redaction of transcript results (hand-built) with the real detector."""

from __future__ import annotations

import pytest

from emulator.engine.pii import PiiDetector
from emulator.service.output import render_job_results
from emulator.service.redaction import detector_types, find_pii, mark_redacted, redact, redact_segments
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Token


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def tokens_of(*segments: list[str], channel: str | None = None, speaker: str | None = None) -> list[Token]:
    """Tokens of hand-written segments (one audio segment per list): each word 0.3 s long,
    starting at 0.3 s times its position, confidence 0.99; punctuation without times."""
    tokens: list[Token] = []
    for number, words in enumerate(segments):
        for word in words:
            if word in ".,?!":
                tokens.append(Token(PUNCTUATION, word, 0.0, segment=number, channel=channel, speaker=speaker))
            else:
                start = round(0.3 * len(tokens), 2)
                tokens.append(
                    Token(PRONUNCIATION, word, 0.99, start, round(start + 0.3, 2), segment=number,
                          channel=channel, speaker=speaker)
                )
    return tokens


def redacted_results(
    tokens: list[Token], detector: PiiDetector, requested: list[str] | None = None, number_of_channels=None
) -> dict:
    """The `results` of a redaction job whose final tokens are `tokens`: PII found, redacted, rendered."""
    return render_job_results(redact(find_pii(tokens, detector, requested)), number_of_channels)


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
    tokens = tokens_of(*NAME_AND_PHONE)
    results = render_job_results(tokens)

    redacted = redacted_results(tokens, detector)

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
    tokens = tokens_of(*NAME_AND_PHONE)
    results = render_job_results(tokens)

    redacted = redacted_results(tokens, detector)

    for before, after in zip(results["items"], redacted["items"]):
        if before["id"] not in (5, 6, 12):
            assert after == before
    for before, after in zip(results["audio_segments"], redacted["audio_segments"]):
        assert {k: v for k, v in after.items() if k != "transcript"} == {
            k: v for k, v in before.items() if k != "transcript"
        }


def test_the_unredacted_results_are_left_alone(detector):
    tokens = tokens_of(*NAME_AND_PHONE)
    original = list(tokens)

    redacted_results(tokens, detector)

    assert tokens == original


def test_no_pii_no_change(detector):
    tokens = tokens_of(["The", "weather", "is", "fine", "today", "."])
    results = render_job_results(tokens)

    assert redacted_results(tokens, detector) == results


@pytest.mark.parametrize("requested", [None, [], ["ALL"], ["NAME", "ALL"]])
def test_all_types_by_default(detector, requested):
    assert redactions(redacted_results(tokens_of(*NAME_AND_PHONE), detector, requested)) == {
        5: "NAME",
        6: "NAME",
        12: "PHONE",
    }


def test_only_the_requested_types(detector):
    tokens = tokens_of(*NAME_AND_PHONE)
    results = render_job_results(tokens)

    assert redactions(redacted_results(tokens, detector, ["PHONE"])) == {12: "PHONE"}
    assert redactions(redacted_results(tokens, detector, ["NAME", "SSN"])) == {5: "NAME", 6: "NAME"}
    assert redacted_results(tokens, detector, ["EMAIL"]) == results


def test_unknown_type_is_refused(detector):
    with pytest.raises(ValueError, match="PERSON"):
        redacted_results(tokens_of(*NAME_AND_PHONE), detector, ["PERSON"])


def test_a_spoken_email_address_is_one_entity(detector):
    tokens = tokens_of(["My", "email", "address", "is", "John", "Smith", "at", "gmail", "com", "."])

    redacted = redacted_results(tokens, detector)

    assert redactions(redacted) == {4: "EMAIL", 5: "EMAIL", 6: "EMAIL", 7: "EMAIL", 8: "EMAIL"}
    assert redacted["transcripts"][0]["transcript"] == "My email address is [PII] [PII] [PII] [PII] [PII]."


def test_punctuation_inside_an_entity_stays(detector):
    tokens = tokens_of(["My", "credit", "card", "number", "is", "4532", ",", "0151", ",", "1283", ",", "0366", "."])

    redacted = redacted_results(tokens, detector)

    assert set(redactions(redacted).values()) == {"CREDIT_DEBIT_NUMBER"}
    assert redacted["transcripts"][0]["transcript"] == "My credit card number is [PII], [PII], [PII], [PII]."
    assert redacted["items"][6]["alternatives"] == [{"confidence": "0.0", "content": ","}]
    confidence = redacted["items"][5]["alternatives"][0]["redactions"][0]["confidence"]
    assert confidence == "1.0"


def test_bank_and_identity_numbers(detector):
    tokens = tokens_of(
        ["My", "social", "security", "number", "is", "536-22-1457", "."],
        ["My", "routing", "number", "is", "011000015", "and"],
        ["my", "account", "number", "is", "1234", "5678", "9012", "."],
        ["The", "CVV", "is", "123", "and", "my", "PIN", "is", "4321", "."],
    )

    assert redactions(redacted_results(tokens, detector)) == {
        5: "SSN",
        11: "BANK_ROUTING",
        17: "BANK_ACCOUNT_NUMBER",
        18: "BANK_ACCOUNT_NUMBER",
        19: "BANK_ACCOUNT_NUMBER",
        24: "CREDIT_DEBIT_CVV",
        29: "PIN",
    }


def test_speaker_labels_stay_on_redacted_items(detector):
    tokens = tokens_of(*NAME_AND_PHONE, speaker="spk_0")

    redacted = redacted_results(tokens, detector)

    assert redacted["items"][5]["speaker_label"] == "spk_0"
    assert redacted["items"][5]["alternatives"][0]["content"] == "[PII]"


def test_channel_labels_are_rebuilt_from_the_redacted_items(detector):
    tokens = tokens_of(*NAME_AND_PHONE, channel="ch_0")
    results = render_job_results(tokens, 2)
    assert results["channel_labels"] == {
        "channels": [
            {"channel_label": "ch_0", "items": [{k: v for k, v in i.items() if k != "id"} for i in results["items"]]},
            {"channel_label": "ch_1", "items": []},
        ],
        "number_of_channels": 2,
    }

    redacted = redacted_results(tokens, detector, number_of_channels=2)

    channel = redacted["channel_labels"]["channels"][0]
    assert [i["alternatives"][0]["content"] for i in channel["items"]] == contents(redacted)
    assert channel["items"][5]["alternatives"][0]["redactions"][0]["type"] == "NAME"
    assert "id" not in channel["items"][5]
    assert redacted["channel_labels"]["channels"][1] == {"channel_label": "ch_1", "items": []}
    assert redacted["channel_labels"]["number_of_channels"] == 2


def test_alternatives_segments_are_redacted_too(detector):
    tokens = tokens_of(*NAME_AND_PHONE)
    results = render_job_results(tokens)
    flat = [
        {k: v for k, v in i.items() if k not in ("id", "alternatives")} | i["alternatives"][0]
        for i in results["items"][:8]
    ]
    segments = [
        {"start_time": "0.0", "end_time": "2.4",
         "alternatives": [{"transcript": "Hello, my name is John Smith.", "items": flat}]}
    ]

    redacted = redact_segments(segments, detector)

    alternative = redacted[0]["alternatives"][0]
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
    tokens = tokens_of(filler + ["My", "name", "is", "John", "Smith", "."])

    redacted = redacted_results(tokens, detector)

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
