"""The job plan (emulator.service.plan): derived from the stored request, stored as JSON."""

import json

from emulator.service.plan import (
    FIXED,
    IDENTIFY,
    IDENTIFY_MULTIPLE,
    JobPlan,
    LanguageResources,
    plan_job,
    plan_of_record,
)

INTERNAL = {"OutputBucketName": None, "OutputKey": None, "AccountId": "123456789012"}


def job_doc(**members) -> dict:
    settings = {"ChannelIdentification": False, "ShowAlternatives": False, **members.pop("Settings", {})}
    return {"TranscriptionJobName": "job", "Media": {"MediaFileUri": "s3://in/a.wav"}, "Settings": settings, **members}


def test_identified_language_takes_its_language_id_settings_on_top_of_settings():
    doc = job_doc(
        IdentifyLanguage=True,
        LanguageOptions=["en-US", "de-DE"],
        LanguageIdSettings={"de-DE": {"VocabularyName": "de-vocab", "VocabularyFilterName": "de-filter"}},
        Settings={"VocabularyName": "v", "VocabularyFilterName": "f", "VocabularyFilterMethod": "tag"},
    )
    plan = plan_job("job", doc, INTERNAL)
    assert (plan.language.mode, plan.language.options) == (IDENTIFY, ("en-US", "de-DE"))
    assert plan.resources_for("en-US") == LanguageResources("v", "f", "tag")
    assert plan.resources_for("de-DE") == LanguageResources("de-vocab", "de-filter", "tag")


def test_a_filter_named_only_in_language_id_settings_masks():
    doc = job_doc(
        IdentifyMultipleLanguages=True,
        LanguageOptions=["en-US", "de-DE"],
        LanguageIdSettings={"de-DE": {"VocabularyFilterName": "de-filter"}},
    )
    plan = plan_job("job", doc, INTERNAL)
    assert plan.language.mode == IDENTIFY_MULTIPLE
    assert plan.resources_for("de-DE").filter_method == "mask"
    assert plan.resources_for("en-US") == LanguageResources()


def test_output_speakers_alternatives_redaction_subtitles():
    doc = job_doc(
        LanguageCode="en-US",
        ModelSettings={"LanguageModelName": "lm"},
        Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": 3, "ShowAlternatives": True, "MaxAlternatives": 2},
        ContentRedaction={"RedactionType": "PII", "RedactionOutput": "redacted", "PiiEntityTypes": ["NAME"]},
        Subtitles={"Formats": ["srt"], "OutputStartIndex": 1},
    )
    plan = plan_job("job", doc, {**INTERNAL, "OutputBucketName": "out", "OutputKey": "folder/"})
    assert (plan.language.mode, plan.language.code) == (FIXED, "en-US")
    assert plan.resources_for("en-US").language_model_name == "lm"
    assert (plan.output.bucket, plan.output.key, plan.output.account_id) == ("out", "folder/job.json", "123456789012")
    assert (plan.max_speaker_labels, plan.max_alternatives) == (3, 2)
    assert (plan.redaction.output, plan.redaction.entity_types) == ("redacted", ("NAME",))
    assert (plan.subtitles.formats, plan.subtitles.start_index) == (("srt",), 1)


def test_medical_default_output_key_and_phi():
    doc = {**job_doc(LanguageCode="en-US", ContentIdentificationType="PHI"), "MedicalTranscriptionJobName": "m"}
    plan = plan_job("m", doc, {**INTERNAL, "OutputBucketName": "out"})
    assert plan.output.key == "medical/m.json"
    assert plan.identify_phi


def test_stored_plan_round_trips_and_old_jobs_derive_theirs():
    doc = job_doc(
        IdentifyLanguage=True,
        LanguageOptions=["en-US", "de-DE"],
        LanguageIdSettings={"de-DE": {"VocabularyName": "de-vocab"}},
        ContentRedaction={"RedactionType": "PII", "RedactionOutput": "redacted_and_unredacted"},
        Subtitles={"Formats": ["vtt", "srt"], "OutputStartIndex": 0},
    )
    plan = plan_job("job", doc, INTERNAL)
    stored = json.loads(json.dumps(plan.to_json()))
    assert JobPlan.from_json(stored) == plan
    assert plan_of_record("job", doc, {**INTERNAL, "Plan": stored}) == plan
    assert plan_of_record("job", doc, INTERNAL) == plan  # a job stored before plans existed
