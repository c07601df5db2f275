"""Start parameters of streaming transcription (emulator.service.streaming_settings): AWS-style
validation, lenient booleans, echoes."""

from __future__ import annotations

import pytest

from emulator.aws.errors import BadRequestException, ValidationException
from emulator.service.streaming_settings import parse_settings
from emulator.streaming.http2 import parameters_from_headers

BASE = {"language-code": "en-US", "media-encoding": "pcm", "sample-rate": "16000"}


def test_booleans_any_case_and_extra_false_headers():
    settings = parse_settings(
        {**BASE, "show-speaker-label": "True", "enable-partial-results-stabilization": "TRUE",
         "identify-language": "false", "enable-channel-identification": "false"},
        medical=False,
    )
    assert settings.show_speaker_label and settings.enable_partial_results_stabilization
    assert settings.partial_results_stability == "high"  # AWS's default level
    assert ("show-speaker-label", "true") in settings.echoed


def test_session_id_echoed_or_generated():
    given = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert parse_settings({**BASE, "session-id": given}, False).session_id == given
    assert len(parse_settings(BASE, False).session_id) == 36


def test_constraint_violations_are_collected_the_aws_way():
    with pytest.raises(ValidationException) as caught:
        parse_settings({"language-code": "xx-XX", "media-encoding": "mp3", "sample-rate": "4000"}, False)
    message = caught.value.message
    assert message.startswith("3 validation errors detected: ")
    assert "Value 'mp3' at 'mediaEncoding' failed to satisfy constraint: Member must satisfy enum value set: [pcm, ogg-opus, flac]" in message
    assert "Value '4000' at 'mediaSampleRateHertz' failed to satisfy constraint: Member must have value greater than or equal to 8000" in message
    assert "at 'languageCode'" in message


def test_medical_requires_specialty_and_type():
    with pytest.raises(ValidationException, match="Value null at 'specialty'"):
        parse_settings(BASE, medical=True)
    settings = parse_settings({**BASE, "specialty": "CARDIOLOGY", "type": "CONVERSATION"}, medical=True)
    assert settings.medical and settings.specialty == "CARDIOLOGY"


@pytest.mark.parametrize(
    "extra, wording",
    [
        ({"language-code": ""}, "The language code is missing"),
        ({"language-code": "", "identify-language": "true", "language-options": "en-US"}, "at least two"),
        ({"language-code": "", "identify-language": "true", "language-options": "en-US,en-GB"}, "one dialect"),
        ({"enable-channel-identification": "true"}, "NumberOfChannels to 2"),
        ({"content-identification-type": "PII", "content-redaction-type": "PII"}, "both ContentIdentificationType"),
        ({"pii-entity-types": "NAME"}, "requires ContentIdentificationType"),
    ],
)
def test_inconsistent_settings_are_bad_requests(extra, wording):
    with pytest.raises(BadRequestException, match=wording):
        parse_settings({**BASE, **extra}, medical=False)


def test_parameters_from_http2_headers():
    headers = [(b"X-Amzn-Transcribe-Language-Code", b"en-US"), (b"host", b"x"), (b"x-amzn-transcribe-sample-rate", b"8000")]
    assert parameters_from_headers(headers) == {"language-code": "en-US", "sample-rate": "8000"}
