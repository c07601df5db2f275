"""Forms -> request members, and API errors -> form fields (pure functions, real validator)."""

from __future__ import annotations

import pytest

from emulator.aws.errors import BadRequestException, ConflictException, SerializationException, ValidationException
from emulator.aws.validation import validate_input
from emulator.console import forms


def form(**fields) -> dict:
    """Keyword names with __ for dots: Settings__MaxSpeakerLabels -> Settings.MaxSpeakerLabels."""
    out = {}
    for name, value in fields.items():
        out[name.replace("__", ".")] = value if isinstance(value, list) else [value]
    return out


def test_step_one_alone_is_a_minimal_start_request():
    params = forms.start_transcription_job(
        form(TranscriptionJobName="job-1", language_mode="specific", LanguageCode="en-US",
             Media__MediaFileUri="s3://media/a.wav", output_type="service")
    )
    assert params == {"TranscriptionJobName": "job-1", "LanguageCode": "en-US", "Media": {"MediaFileUri": "s3://media/a.wav"}}


def test_every_setting_of_step_two_maps_to_its_member():
    params = forms.start_transcription_job(
        form(
            TranscriptionJobName="job-2", language_mode="identify", LanguageCode="en-US",
            LanguageOptions=["en-US", "de-DE"], Media__MediaFileUri="s3://media/a.wav",
            output_type="customer", OutputBucketName="out", OutputKey="folder/", Tags="team=asr\nstage",
            Settings__ShowSpeakerLabels="on", Settings__MaxSpeakerLabels="3",
            Settings__ChannelIdentification="on", Settings__ShowAlternatives="on", Settings__MaxAlternatives="4",
            Settings__VocabularyName="voc", Settings__VocabularyFilterName="flt", Settings__VocabularyFilterMethod="tag",
            ModelSettings__LanguageModelName="clm", Subtitles__Formats=["srt", "vtt"], Subtitles__OutputStartIndex="1",
            ContentRedaction="on", ContentRedaction__RedactionOutput="redacted_and_unredacted",
            ContentRedaction__PiiEntityTypes=["NAME", "EMAIL"],
        )
    )
    assert params == {
        "TranscriptionJobName": "job-2",
        "IdentifyLanguage": True,
        "LanguageOptions": ["en-US", "de-DE"],
        "Media": {"MediaFileUri": "s3://media/a.wav"},
        "OutputBucketName": "out",
        "OutputKey": "folder/",
        "Tags": [{"Key": "team", "Value": "asr"}, {"Key": "stage", "Value": ""}],
        "Settings": {
            "ShowSpeakerLabels": True, "MaxSpeakerLabels": 3, "ChannelIdentification": True,
            "ShowAlternatives": True, "MaxAlternatives": 4, "VocabularyName": "voc",
            "VocabularyFilterName": "flt", "VocabularyFilterMethod": "tag",
        },
        "ModelSettings": {"LanguageModelName": "clm"},
        "Subtitles": {"Formats": ["srt", "vtt"], "OutputStartIndex": 1},
        "ContentRedaction": {"RedactionType": "PII", "RedactionOutput": "redacted_and_unredacted", "PiiEntityTypes": ["NAME", "EMAIL"]},
    }
    validate_input("StartTranscriptionJob", params)  # a valid request for the model


def test_switches_that_are_off_send_nothing():
    params = forms.start_transcription_job(
        form(TranscriptionJobName="j", language_mode="identify-multiple", Media__MediaFileUri="s3://m/a.wav",
             output_type="service", OutputBucketName="ignored", Settings__MaxSpeakerLabels="3",
             Settings__VocabularyFilterMethod="mask", ContentRedaction__PiiEntityTypes=["ALL"])
    )
    assert params == {"TranscriptionJobName": "j", "IdentifyMultipleLanguages": True, "Media": {"MediaFileUri": "s3://m/a.wav"}}


def test_numbers_that_do_not_parse_reach_the_api_as_typed():
    params = forms.start_transcription_job(form(Settings__ShowSpeakerLabels="on", Settings__MaxSpeakerLabels="two"))
    assert params["Settings"]["MaxSpeakerLabels"] == "two"
    with pytest.raises(SerializationException):
        validate_input("StartTranscriptionJob", {**params, "TranscriptionJobName": "j", "LanguageCode": "en-US"})


def test_validation_violations_land_on_the_fields_their_paths_name():
    params = forms.start_transcription_job(
        form(TranscriptionJobName="bad name", Media__MediaFileUri="ftp://x", Tags="=oops",
             Settings__ShowSpeakerLabels="on", Settings__MaxSpeakerLabels="99")
    )
    with pytest.raises(ValidationException) as caught:
        validate_input("StartTranscriptionJob", params)
    errors = forms.field_errors(caught.value, forms.JOB_STEP1_FIELDS + forms.JOB_STEP2_FIELDS)
    assert set(errors.by_field) == {"TranscriptionJobName", "Media.MediaFileUri", "Settings.MaxSpeakerLabels", "Tags"}
    assert errors.by_field["TranscriptionJobName"][0].startswith("Value 'bad name' at 'transcriptionJobName'")
    assert errors.general == []
    assert errors.message == caught.value.message and errors.code == "BadRequestException"


def test_service_errors_land_on_the_fields_they_are_about():
    fields = forms.JOB_STEP1_FIELDS + forms.JOB_STEP2_FIELDS
    duplicate = forms.field_errors(ConflictException("The requested job name already exists. Use a different job name."), fields)
    assert list(duplicate.by_field) == ["TranscriptionJobName"]
    missing = BadRequestException(
        "When you set ShowAlternatives to true, you must also include MaxAlternatives. Add it and try your request again."
    )
    assert set(forms.field_errors(missing, fields).by_field) == {"Settings.ShowAlternatives", "Settings.MaxAlternatives"}
    chosen = forms.field_errors(missing, fields, form(Settings__ShowAlternatives="on"))
    assert list(chosen.by_field) == ["Settings.MaxAlternatives"]
    media = forms.field_errors(BadRequestException("The URI that you provided doesn't point to an S3 object. Make sure..."), fields)
    assert list(media.by_field) == ["Media.MediaFileUri"]
    vocabulary = forms.field_errors(BadRequestException("The requested vocabulary couldn't be found. Check the vocabulary name."), fields)
    assert list(vocabulary.by_field) == ["Settings.VocabularyName"]
    filter_missing = forms.field_errors(BadRequestException("The requested vocabulary filter couldn't be found. Check..."), fields)
    assert list(filter_missing.by_field) == ["Settings.VocabularyFilterName"]
    unknown = forms.field_errors(BadRequestException("Something else went wrong."), fields)
    assert unknown.by_field == {} and unknown.general == ["Something else went wrong."]


def test_resource_forms():
    assert forms.create_vocabulary(form(VocabularyName="v", LanguageCode="en-US", source="list", Phrases="a\n\n b \n")) == {
        "VocabularyName": "v", "LanguageCode": "en-US", "Phrases": ["a", "b"]}
    assert forms.create_vocabulary(form(VocabularyName="v", LanguageCode="en-US", source="file", Phrases="a",
                                        VocabularyFileUri="s3://b/k.txt")) == {
        "VocabularyName": "v", "LanguageCode": "en-US", "VocabularyFileUri": "s3://b/k.txt"}
    assert forms.create_vocabulary_filter(form(VocabularyFilterName="f", LanguageCode="en-US", Words="x\ny")) == {
        "VocabularyFilterName": "f", "LanguageCode": "en-US", "Words": ["x", "y"]}
    assert forms.create_language_model(form(ModelName="m", LanguageCode="en-US", BaseModelName="WideBand",
                                            InputDataConfig__S3Uri="s3://b/train/",
                                            InputDataConfig__DataAccessRoleArn="arn:aws:iam::1:role/r")) == {
        "ModelName": "m", "LanguageCode": "en-US", "BaseModelName": "WideBand",
        "InputDataConfig": {"S3Uri": "s3://b/train/", "DataAccessRoleArn": "arn:aws:iam::1:role/r"}}
    assert forms.start_medical_transcription_job(form(MedicalTranscriptionJobName="m", LanguageCode="en-US",
                                                      Media__MediaFileUri="s3://b/a.wav", OutputBucketName="o",
                                                      Specialty="PRIMARYCARE", Type="DICTATION",
                                                      ContentIdentificationType="on")) == {
        "MedicalTranscriptionJobName": "m", "LanguageCode": "en-US", "OutputBucketName": "o", "Specialty": "PRIMARYCARE",
        "Type": "DICTATION", "Media": {"MediaFileUri": "s3://b/a.wav"}, "ContentIdentificationType": "PHI"}


def test_field_for_path_takes_the_longest_known_prefix():
    fields = ("Tags", "Settings.MaxSpeakerLabels", "ContentRedaction")
    assert forms.field_for_path("tags.1.member.key", fields) == "Tags"
    assert forms.field_for_path("settings.maxSpeakerLabels", fields) == "Settings.MaxSpeakerLabels"
    assert forms.field_for_path("contentRedaction.redactionType", fields) == "ContentRedaction"
    assert forms.field_for_path("jobExecutionSettings.dataAccessRoleArn", fields) is None
