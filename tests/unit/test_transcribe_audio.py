"""TranscribeAudio's rendering of tokens (botocore `TranscribeAudioResults`, `SyncItem`) and the
blob size rule of the wire validation."""

from __future__ import annotations

import base64

import pytest

from emulator.aws.errors import ValidationException
from emulator.aws.validation import validate_input
from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Pii, Token
from emulator.service.transcribe_audio import render_results, speech_seconds


def _word(content, start, end, **extra) -> Token:
    return Token(PRONUNCIATION, content, 0.9, start, end, **extra)


def test_items_have_numeric_times_and_punctuation_takes_the_word_before():
    tokens = [_word("Hello", 0.1234, 0.5), Token(PUNCTUATION, ","), _word("world", 0.6, 1.0), Token(PUNCTUATION, ".")]
    results = render_results(tokens, "en-US", filtered=False)
    assert results["Transcript"] == "Hello, world."
    first = {"Id": 0, "Content": "Hello", "StartTime": 0.123, "EndTime": 0.5, "LanguageCode": "en-US"}
    assert results["Items"][0] == first
    assert results["Items"][1]["StartTime"] == results["Items"][1]["EndTime"] == 0.5
    assert results["Items"][3]["StartTime"] == 1.0


def test_channels_are_rendered_ch_0_then_ch_1():
    tokens = [_word("one", 0.0, 0.4, channel="ch_1"), _word("two", 0.2, 0.6, channel="ch_0", segment=1)]
    results = render_results(tokens, "en-US", filtered=False)
    assert results["Transcript"] == "two one"
    assert [i["ChannelLabel"] for i in results["Items"]] == ["ch_0", "ch_1"]
    assert [i["Id"] for i in results["Items"]] == [0, 1]


def test_labels_filter_matches_and_redactions():
    tokens = [
        _word("***", 0.0, 0.4, speaker="spk_0"),
        _word("word", 0.4, 0.8, speaker="spk_1", filter_match=True),
        _word("[PII]", 0.8, 1.2, speaker="spk_1", pii=Pii("NAME", 0.9)),
    ]
    items = render_results(tokens, "en-US", filtered=True)["Items"]
    assert [i["SpeakerLabel"] for i in items] == ["spk_0", "spk_1", "spk_1"]
    assert [i["VocabularyFilterMatch"] for i in items] == [True, True, False]
    assert items[2]["Redactions"] == [{"Type": "NAME"}] and "Redactions" not in items[0]


def test_speech_seconds_sums_segments_per_channel():
    tokens = [_word("a", 1.0, 1.5), _word("b", 1.5, 2.0), _word("c", 5.0, 6.0, segment=1)]
    assert speech_seconds(tokens) == 2.0
    assert speech_seconds([]) == 0.0


def _media(size: int) -> dict:
    return {"Media": {"MediaBytes": base64.b64encode(b"\0" * size).decode()}}


@pytest.mark.parametrize("size", [1, 2, 3, 26214400])
def test_blob_length_is_counted_in_bytes_not_base64_characters(size):
    validate_input("TranscribeAudio", _media(size))


def test_a_blob_over_its_max_is_a_validation_error_showing_a_byte_buffer():
    with pytest.raises(ValidationException) as caught:
        validate_input("TranscribeAudio", _media(26214401))
    assert caught.value.violations == [
        "Value 'java.nio.HeapByteBuffer[pos=0 lim=26214401 cap=26214401]' at 'media.mediaBytes' failed to satisfy "
        "constraint: Member must have length less than or equal to 26214400"
    ]
