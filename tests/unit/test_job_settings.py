"""Cross-member rules of StartTranscriptionJob (botocore model docs, digest §3.1)."""

import pytest

from emulator.aws.errors import BadRequestException
from emulator.service.job_settings import LANGUAGE_MISSING, check_start_request

BASE = {"TranscriptionJobName": "j", "Media": {"MediaFileUri": "s3://b/k"}}


def _error(params) -> str:
    with pytest.raises(BadRequestException) as error:
        check_start_request({**BASE, **params})
    return error.value.message


def test_a_language_choice_is_required():
    assert _error({}) == LANGUAGE_MISSING


def test_only_one_language_choice():
    assert "Use only one of" in _error({"LanguageCode": "en-US", "IdentifyLanguage": True})
    assert "Use only one of" in _error({"IdentifyLanguage": True, "IdentifyMultipleLanguages": True})


def test_language_options_need_identification_and_two_codes():
    assert "LanguageOptions can only be used" in _error({"LanguageCode": "en-US", "LanguageOptions": ["en-US", "de-DE"]})
    assert "at least two" in _error({"IdentifyLanguage": True, "LanguageOptions": ["en-US"]})
    check_start_request({**BASE, "IdentifyLanguage": True, "LanguageOptions": ["en-US", "de-DE"]})


def test_language_id_settings_must_name_options():
    settings = {"de-DE": {"VocabularyName": "v"}}
    assert "also be in LanguageOptions" in _error(
        {"IdentifyLanguage": True, "LanguageOptions": ["en-US", "fr-FR"], "LanguageIdSettings": settings}
    )
    assert "can only be used" in _error({"LanguageCode": "de-DE", "LanguageIdSettings": settings})


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"MaxSpeakerLabels": 2}, "To use MaxSpeakerLabels, you must also set ShowSpeakerLabels to true"),
        ({"ShowSpeakerLabels": True}, "you must also include MaxSpeakerLabels"),
        ({"MaxAlternatives": 2}, "To use MaxAlternatives, you must also set ShowAlternatives to true"),
        ({"ShowAlternatives": True}, "you must also include MaxAlternatives"),
        ({"VocabularyFilterName": "f"}, "Add VocabularyFilterMethod"),
        ({"VocabularyFilterMethod": "mask"}, "Add VocabularyFilterName"),
    ],
)
def test_settings_that_go_in_pairs(settings, fragment):
    assert fragment in _error({"LanguageCode": "en-US", "Settings": settings})


def test_toxicity_detection_is_us_english_only():
    toxicity = [{"ToxicityCategories": ["ALL"]}]
    assert "requires LanguageCode en-US" in _error({"LanguageCode": "de-DE", "ToxicityDetection": toxicity})
    check_start_request({**BASE, "LanguageCode": "en-US", "ToxicityDetection": toxicity})


def test_supported_settings_pass():
    check_start_request(
        {
            **BASE,
            "LanguageCode": "en-US",
            "Settings": {"ChannelIdentification": True, "VocabularyName": "v", "VocabularyFilterName": "f", "VocabularyFilterMethod": "tag"},
            "Subtitles": {"Formats": ["srt", "vtt"], "OutputStartIndex": 1},
        }
    )


def test_alternatives_go_with_channel_identification():
    # AWS allows ShowAlternatives together with ChannelIdentification (issue 13 §4).
    settings = {"ChannelIdentification": True, "ShowAlternatives": True, "MaxAlternatives": 2}
    check_start_request({**BASE, "LanguageCode": "en-US", "Settings": settings})


def test_identified_languages_map_to_transcribe_codes():
    from emulator.service.job_settings import aws_language_code

    assert aws_language_code("en") == "en-US"
    assert aws_language_code("de") == "de-DE"
    assert aws_language_code("it") == "it-IT"
    assert aws_language_code("en", ["de-DE", "en-GB", "en-US"]) == "en-GB"
    assert aws_language_code("fr", ["de-DE", "en-GB"]) is None
    assert aws_language_code("xx") is None
