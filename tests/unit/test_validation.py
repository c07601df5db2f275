"""Input validation derived from botocore's transcribe service model, in AWS's wording."""

from __future__ import annotations

import pytest

from emulator.aws.errors import SerializationException, UnknownOperationException, ValidationException
from emulator.aws.validation import operation_names, validate_input

NAME_PATTERN = "^[0-9a-zA-Z._-]+"


def start_job(**overrides) -> dict:
    params = {
        "TranscriptionJobName": "job-1",
        "LanguageCode": "en-US",
        "Media": {"MediaFileUri": "s3://bucket/audio.wav"},
    }
    params.update(overrides)
    return params


def violations(operation: str, params: dict) -> list[str]:
    with pytest.raises(ValidationException) as caught:
        validate_input(operation, params)
    return caught.value.violations


def message(operation: str, params: dict) -> str:
    with pytest.raises(ValidationException) as caught:
        validate_input(operation, params)
    return caught.value.message


def test_operation_names_come_from_the_model():
    names = operation_names()
    assert "StartTranscriptionJob" in names
    assert "ListTranscriptionJobs" in names
    assert len(names) == len(set(names)) > 10


def test_valid_start_transcription_job_passes():
    validate_input(
        "StartTranscriptionJob",
        start_job(
            MediaFormat="wav",
            OutputBucketName="my-output-bucket",
            OutputKey="out/result.json",
            Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": 2},
            Tags=[{"Key": "team", "Value": ""}],
            KMSEncryptionContext={"purpose": "test"},
            ContentRedaction={"RedactionType": "PII", "RedactionOutput": "redacted", "PiiEntityTypes": ["NAME"]},
        ),
    )


def test_null_members_count_as_absent():
    validate_input("StartTranscriptionJob", start_job(LanguageCode=None, Settings=None))


def test_unknown_members_are_ignored():
    params = start_job(NotAMember=[1, 2], Media={"MediaFileUri": "s3://b/k", "Extra": 1})
    validate_input("StartTranscriptionJob", params)


def test_missing_required_members():
    assert violations("StartTranscriptionJob", {}) == [
        "Value null at 'transcriptionJobName' failed to satisfy constraint: Member must not be null",
        "Value null at 'media' failed to satisfy constraint: Member must not be null",
    ]
    assert violations("GetTranscriptionJob", {}) == [
        "Value null at 'transcriptionJobName' failed to satisfy constraint: Member must not be null"
    ]


def test_bad_language_code_matches_the_recorded_aws_message():
    text = message("StartTranscriptionJob", start_job(LanguageCode="non-existent"))
    assert text.startswith(
        "1 validation error detected: Value 'non-existent' at 'languageCode' failed to satisfy constraint: "
        "Member must satisfy enum value set: ["
    )
    assert text.endswith("en-US, en-WL, es-ES, es-MX, es-US, fa-AF, fa-IR, fr-CA, fr-FR, ga-IE, gd-GB, he-IL, hi-IN, "
                         "ht-HT, id-ID, it-IT, ja-JP, jv-ID, km-KH, ko-KR, my-MM, ms-MY, nl-NL, pt-BR, pt-PT, ru-RU, "
                         "ta-IN, te-IN, tr-TR, zh-CN, zh-TW, th-TH, en-ZA, en-NZ, vi-VN, sv-SE, ab-GE, ast-ES, az-AZ, "
                         "ba-RU, be-BY, bg-BG, bn-IN, bs-BA, ca-ES, ckb-IQ, ckb-IR, cs-CZ, cy-WL, el-GR, et-EE, et-ET, "
                         "eu-ES, fi-FI, gl-ES, gu-IN, ha-NG, hr-HR, hu-HU, hy-AM, is-IS, ka-GE, kab-DZ, kk-KZ, kn-IN, "
                         "ky-KG, lg-IN, lt-LT, lv-LV, mhr-RU, mi-NZ, mk-MK, ml-IN, mn-MN, mr-IN, mt-MT, no-NO, ne-NP, "
                         "or-IN, pa-IN, pl-PL, ps-AF, ro-RO, rw-RW, si-LK, sk-SK, sl-SI, so-SO, sq-AL, sr-RS, su-ID, "
                         "sw-BI, sw-KE, sw-RW, sw-TZ, sw-UG, tl-PH, tt-RU, ug-CN, uk-UA, uz-UZ, wo-SN, zh-HK, zu-ZA]")


def test_name_with_a_space_fails_the_pattern():
    assert violations("StartTranscriptionJob", start_job(TranscriptionJobName="a b")) == [
        f"Value 'a b' at 'transcriptionJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
    ]


def test_pattern_is_a_full_match():
    # '^[0-9a-zA-Z._-]+' would match the prefix "ab" with re.match; AWS anchors the whole value.
    assert len(violations("StartTranscriptionJob", start_job(TranscriptionJobName="ab!"))) == 1


def test_too_long_name_that_matches_the_pattern_breaks_only_the_length():
    name = "a" * 201
    assert violations("StartTranscriptionJob", start_job(TranscriptionJobName=name)) == [
        f"Value '{name}' at 'transcriptionJobName' failed to satisfy constraint: "
        "Member must have length less than or equal to 200"
    ]


def test_too_long_name_that_breaks_the_pattern_gets_both_messages_length_first():
    name = "a b" * 70
    text = message("StartTranscriptionJob", start_job(TranscriptionJobName=name))
    assert text == (
        f"2 validation errors detected: Value '{name}' at 'transcriptionJobName' failed to satisfy constraint: "
        "Member must have length less than or equal to 200; "
        f"Value '{name}' at 'transcriptionJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
    )


def test_empty_name_breaks_min_length_and_pattern():
    assert violations("StartTranscriptionJob", start_job(TranscriptionJobName="")) == [
        "Value '' at 'transcriptionJobName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
        "Value '' at 'transcriptionJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}",
    ]


def test_max_speaker_labels_range_uses_the_nested_path():
    assert violations("StartTranscriptionJob", start_job(Settings={"MaxSpeakerLabels": 1})) == [
        "Value '1' at 'settings.maxSpeakerLabels' failed to satisfy constraint: "
        "Member must have value greater than or equal to 2"
    ]
    assert violations("StartTranscriptionJob", start_job(Settings={"MaxSpeakerLabels": 31})) == [
        "Value '31' at 'settings.maxSpeakerLabels' failed to satisfy constraint: "
        "Member must have value less than or equal to 30"
    ]


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (0, "Member must have value greater than or equal to 1"),
        (101, "Member must have value less than or equal to 100"),
    ],
)
def test_max_results_range(value, rule):
    assert violations("ListTranscriptionJobs", {"MaxResults": value}) == [
        f"Value '{value}' at 'maxResults' failed to satisfy constraint: {rule}"
    ]


def test_nested_uri_path_and_pattern():
    assert violations("StartTranscriptionJob", start_job(Media={"MediaFileUri": "ftp://x"})) == [
        "Value 'ftp://x' at 'media.mediaFileUri' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: (s3://|http(s*)://).+"
    ]


def test_tag_missing_value_is_reported_at_the_list_member():
    params = start_job(Tags=[{"Key": "a", "Value": "b"}, {"Key": "team"}])
    assert violations("StartTranscriptionJob", params) == [
        "Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null"
    ]
    assert violations("StartTranscriptionJob", start_job(Tags=[{"Key": "team"}])) == [
        "Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"
    ]


def test_empty_list_breaks_min_length():
    assert violations("StartTranscriptionJob", start_job(LanguageOptions=[])) == [
        "Value '[]' at 'languageOptions' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    ]


def test_list_of_scalars_is_reported_once_at_the_list():
    found = violations("StartTranscriptionJob", start_job(LanguageOptions=["en-US", "xx", "yy"]))
    assert len(found) == 1
    assert found[0].startswith(
        "Value '[en-US, xx, yy]' at 'languageOptions' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must satisfy enum value set: [af-ZA, ar-AE, "
    )
    assert found[0].endswith("zu-ZA]]")


def test_map_keys_and_values_use_the_aws_map_wording():
    found = violations("StartTranscriptionJob", start_job(KMSEncryptionContext={"": "\n"}))
    rules = (
        "[Member must have length less than or equal to 2000, Member must have length greater than or equal to 1, "
        "Member must satisfy regular expression pattern: ^[\\x20-\\x7E]+$]"
    )
    prefix = "Value '{=\n}' at 'kMSEncryptionContext' failed to satisfy constraint: "
    assert found == [
        f"{prefix}Map keys must satisfy constraint: {rules}",
        f"{prefix}Map value must satisfy constraint: {rules}",
    ]


def test_structure_values_of_a_map_are_walked_at_key_member():
    params = start_job(IdentifyLanguage=True, LanguageIdSettings={"en-US": {"VocabularyName": "a b"}})
    assert violations("StartTranscriptionJob", params) == [
        "Value 'a b' at 'languageIdSettings.en-US.member.vocabularyName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
    ]


def test_output_bucket_name_pattern():
    assert violations("StartTranscriptionJob", start_job(OutputBucketName="My_Bucket")) == [
        "Value 'My_Bucket' at 'outputBucketName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9]"
    ]


def test_output_key_too_long():
    key = "k" * 1025
    found = violations("StartTranscriptionJob", start_job(OutputKey=key))
    assert found[0] == (
        f"Value '{key}' at 'outputKey' failed to satisfy constraint: "
        "Member must have length less than or equal to 1024"
    )


def test_multiple_violations_are_counted_and_joined_in_member_order():
    params = start_job(TranscriptionJobName="a b", LanguageCode="xx", Settings={"MaxSpeakerLabels": 99})
    text = message("StartTranscriptionJob", params)
    assert text.startswith("3 validation errors detected: Value 'a b' at 'transcriptionJobName' ")
    parts = text.removeprefix("3 validation errors detected: ").split("; ")
    assert [p.split("'")[3] for p in parts] == ["transcriptionJobName", "languageCode", "settings.maxSpeakerLabels"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"MaxResults": "10"}, "STRING_VALUE cannot be converted to Integer"),
        ({"MaxResults": True}, "TRUE_VALUE cannot be converted to Integer"),
        ({"JobNameContains": 5}, "NUMBER_VALUE cannot be converted to String"),
        ({"JobNameContains": ["a"]}, "Unrecognized collection type class java.lang.String"),
        ({"JobNameContains": {"a": 1}}, "Start of structure or map found where not expected"),
    ],
)
def test_wrong_json_types_are_serialization_errors(params, expected):
    with pytest.raises(SerializationException) as caught:
        validate_input("ListTranscriptionJobs", params)
    assert caught.value.message == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"Media": ["s3://b/k"]}, "Start of list found where not expected"),
        ({"Media": "s3://b/k"}, "Unexpected field type"),
        ({"Settings": {"ShowSpeakerLabels": "true"}}, "Unexpected token received from parser"),
        ({"Settings": {"ShowSpeakerLabels": 1}}, "NUMBER_VALUE cannot be converted to Boolean"),
        ({"Tags": {"Key": "a"}}, "Start of structure or map found where not expected"),
        ({"LanguageOptions": ["en-US", 7]}, "NUMBER_VALUE cannot be converted to String"),
    ],
)
def test_nested_wrong_types_win_over_constraint_violations(overrides, expected):
    params = start_job(TranscriptionJobName="a b", **overrides)
    with pytest.raises(SerializationException) as caught:
        validate_input("StartTranscriptionJob", params)
    assert caught.value.message == expected


def test_unknown_operation():
    with pytest.raises(UnknownOperationException):
        validate_input("NoSuchOperation", {})
