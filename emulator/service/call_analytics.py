"""Call Analytics jobs: StartCallAnalyticsJob, GetCallAnalyticsJob, ListCallAnalyticsJobs,
DeleteCallAnalyticsJob.

The job service of standard jobs (emulator.service.jobs: lifecycle, worker pool, quota,
presigned URIs, Delete) with the family value CALL_ANALYTICS (Store kind and ARN resource type
`call-analytics-job`). Shapes: botocore `CallAnalyticsJob`, `CallAnalyticsJobSummary`,
`StartCallAnalyticsJobRequest`. The run is emulator.service.call_analytics_pipeline.

Start rules (botocore's documentation of the members; BadRequestException):
* `Media.MediaFileUri` is an S3 object (RedactedMediaFileUri alone, audio redaction, is
  refused: the emulator doesn't redact audio); `OutputLocation` an S3 bucket, folder or key;
* `ChannelDefinitions`: two different channels with different roles;
* `Settings`: VocabularyFilterName with VocabularyFilterMethod; the vocabulary, filter and
  language model named are checked against the language when it is known (one
  LanguageOptions entry, or the LanguageIdSettings entries); `ContentRedaction` needs English
  (en-US) speech, as the emulator's PII detector is English.
The language: one `LanguageOptions` entry is the language; several are identified among;
none: identified among all languages (the request has no LanguageCode member).
"""

from __future__ import annotations

from emulator.aws.errors import BadRequestException
from emulator.service import s3_uri
from emulator.service.context import RequestContext
from emulator.service.job_settings import REDACTION_LANGUAGES, check_settings
from emulator.service.jobs import JobFamily, TranscriptionJobs
from emulator.service.plan import JobPlan, plan_job
from emulator.service.tags import validate_new_tags
from emulator.service.vocabularies import NOT_AN_S3_URI

KIND = "call-analytics-job"
BAD_OUTPUT_LOCATION = (
    "The OutputLocation {uri} isn't an S3 location. Use s3://bucket, s3://bucket/folder/ or "
    "s3://bucket/folder/file.json and try your request again."
)
REDACTED_MEDIA_ONLY = (
    "The emulator does not support audio redaction (Media.RedactedMediaFileUri). Give the audio as "
    "Media.MediaFileUri. See the README's differences from AWS."
)
BAD_CHANNELS = (
    "ChannelDefinitions must define channel 0 and channel 1 with different participant roles "
    "(AGENT and CUSTOMER). Correct them and try your request again."
)
REDACTION_LANGUAGE = (
    "ContentRedaction needs Settings.LanguageOptions with only {supported} in the emulator (its PII "
    "detector is English). See the README's differences from AWS."
)


def output_location(uri: str | None, own_endpoints: tuple[str, ...] = ()) -> tuple[str, str | None] | None:
    """(bucket, OutputKey-style key or None) of an OutputLocation; None when it isn't S3.
    "s3://b" -> ("b", None); "s3://b/f/" -> ("b", "f/"); "s3://b/f/x.json" -> ("b", "f/x.json")."""
    if uri is None:
        return None
    parsed = s3_uri.parse_s3_uri(uri.rstrip("/") + "/_", own_endpoints)  # "_": parse_s3_uri wants a key
    if parsed is None:
        return None
    bucket, key = parsed
    key = key[:-1]  # without the "_"
    if uri.endswith("/") or not key:
        return bucket, key or None
    return bucket, key.rstrip("/")


def check_call_analytics_start(jobs: TranscriptionJobs, ctx: RequestContext, params: dict) -> None:
    """StartCallAnalyticsJob's own rules (module docstring). BadRequestException."""
    settings = params.get("Settings", {})
    check_settings(settings)
    validate_new_tags(params.get("Tags", []))
    media = params["Media"]
    if "MediaFileUri" not in media:
        raise BadRequestException(REDACTED_MEDIA_ONLY if "RedactedMediaFileUri" in media else NOT_AN_S3_URI)
    if s3_uri.parse_s3_uri(media["MediaFileUri"], (jobs.objects.endpoint,)) is None:
        raise BadRequestException(NOT_AN_S3_URI)
    location = params.get("OutputLocation")
    if location is not None:
        where = output_location(location, (jobs.objects.endpoint,))
        if where is None:
            raise BadRequestException(BAD_OUTPUT_LOCATION.format(uri=location))
        s3_uri.check_output_key(where[1])
    definitions = params.get("ChannelDefinitions")
    if definitions is not None:
        channels = {d.get("ChannelId") for d in definitions}
        roles = [d.get("ParticipantRole") for d in definitions]
        if channels != {0, 1} or (None not in roles and len(set(roles)) != 2):
            raise BadRequestException(BAD_CHANNELS)
    options = settings.get("LanguageOptions", [])
    for code in options:
        if not jobs.supported_language(code):
            raise BadRequestException(
                f"The emulator has no speech model for language code {code}. "
                "Add a multilingual Whisper model that supports it, or use another language code."
            )
    if "ContentRedaction" in settings and (not options or any(c not in REDACTION_LANGUAGES for c in options)):
        raise BadRequestException(REDACTION_LANGUAGE.format(supported=", ".join(REDACTION_LANGUAGES)))
    pairs = [(options[0], settings)] if len(options) == 1 else []
    pairs.extend(settings.get("LanguageIdSettings", {}).items())
    for language, named in pairs:
        if named.get("VocabularyName") and jobs.vocabularies:
            jobs.vocabularies.terms_for_job(ctx.region, named["VocabularyName"], language)
        if named.get("LanguageModelName") and jobs.language_models:
            jobs.language_models.prompt_for_job(ctx.region, named["LanguageModelName"], language)
        if named.get("VocabularyFilterName") and jobs.vocabulary_filters:
            jobs.vocabulary_filters.words_for_job(ctx.region, named["VocabularyFilterName"], language)


def call_analytics_plan(name: str, doc: dict, internal: dict) -> JobPlan:
    """The plan of a Call Analytics job (service.plan): its request as the transcription plan
    reads it: channels always transcribed apart, the language fixed by one LanguageOptions
    entry or identified, the output where OutputLocation says."""
    settings = doc.get("Settings", {})
    options = settings.get("LanguageOptions") or []
    request = {
        "Settings": {**settings, "ChannelIdentification": True},
        "Media": doc["Media"],
        "LanguageIdSettings": settings.get("LanguageIdSettings", {}),
        "ContentRedaction": settings.get("ContentRedaction"),
    }
    if len(options) == 1:
        request["LanguageCode"] = options[0]
    else:
        request.update(IdentifyLanguage=True, LanguageOptions=options or None)
    where = output_location(internal.get("OutputLocation")) or (None, None)
    return plan_job(
        name, request, {"AccountId": internal["AccountId"], "OutputBucketName": where[0], "OutputKey": where[1]}
    )


CALL_ANALYTICS = JobFamily(
    KIND,
    "CallAnalyticsJob",
    check_call_analytics_start,
    kept=("OutputLocation", "OutputEncryptionKMSKeyId"),
    plan=call_analytics_plan,
    default_settings=(),
)


def call_analytics_jobs(store, pool, objects, supported_language, **options) -> TranscriptionJobs:
    """The four Call Analytics job operations; they share the standard jobs' worker pool and
    `options` (clock, vocabularies, vocabulary_filters, language_models, progress,
    max_concurrent_jobs)."""
    return TranscriptionJobs(store, pool, objects, supported_language, family=CALL_ANALYTICS, **options)
