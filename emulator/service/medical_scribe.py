"""AWS HealthScribe jobs: StartMedicalScribeJob, GetMedicalScribeJob, ListMedicalScribeJobs,
DeleteMedicalScribeJob.

The job service of standard jobs (emulator.service.jobs: lifecycle, worker pool, quota,
Delete) with the family value MEDICAL_SCRIBE (Store kind and ARN resource type
`medical-scribe-job`). Shapes: botocore `MedicalScribeJob`, `MedicalScribeJobSummary`,
`StartMedicalScribeJobRequest`, `MedicalScribeSettings`, `MedicalScribeOutput`. The run is
emulator.service.medical_scribe_pipeline.

Start rules (botocore's documentation of StartMedicalScribeJob; BadRequestException):
* `Settings` sets exactly one of ShowSpeakerLabels and ChannelIdentification to true;
  ShowSpeakerLabels needs MaxSpeakerLabels; VocabularyFilterName goes with
  VocabularyFilterMethod;
* `ChannelDefinitions` is given if and only if ChannelIdentification is true: channels 0 and
  1, one CLINICIAN and one PATIENT;
* `Media.MediaFileUri` is an S3 object; `VocabularyName` and `VocabularyFilterName` name READY
  standard (en-US) resources: the member's documentation says "custom vocabulary", the
  resource of CreateVocabulary, not a medical vocabulary (README "Differences from AWS");
* the language is always en-US (MedicalScribeLanguageCode); `MedicalScribeContext` is
  recorded (`MedicalScribeContextProvided`), KMS members and DataAccessRoleArn are accepted
  and not used.
Output: both files in OutputBucketName, `<job name>/transcript.json` and
`<job name>/summary.json`; the job's `MedicalScribeOutput` gives their S3 https URLs. AWS's
developer guide shows the files' contents ("Starting an AWS HealthScribe transcription job")
but not their keys, which clients read from `MedicalScribeOutput` (README "Differences from AWS").
"""

from __future__ import annotations

from emulator.aws.errors import BadRequestException
from emulator.service import s3_uri
from emulator.service.context import RequestContext
from emulator.service.job_settings import check_settings
from emulator.service.jobs import JobFamily, TranscriptionJobs
from emulator.service.plan import JobPlan, plan_job
from emulator.service.resources import pick
from emulator.service.tags import validate_new_tags
from emulator.service.vocabularies import NOT_AN_S3_URI
from emulator.storage.store import Record

KIND = "medical-scribe-job"
SCRIBE_LANGUAGE = "en-US"  # MedicalScribeLanguageCode has this value only
TRANSCRIPT_FILE = "transcript.json"
CLINICAL_DOCUMENT_FILE = "summary.json"
# Wording: AWS documents the rules, not the messages; these name the rule broken.
ONE_MODE = (
    "Settings must set exactly one of ShowSpeakerLabels or ChannelIdentification to true. "
    "Correct your settings and try your request again."
)
CHANNELS_IFF = (
    "ChannelDefinitions must be set if and only if Settings.ChannelIdentification is true. "
    "Correct your request and try again."
)
BAD_CHANNELS = (
    "ChannelDefinitions must define channel 0 and channel 1, one with the participant role CLINICIAN "
    "and one with PATIENT. Correct them and try your request again."
)


def check_scribe_start(jobs: TranscriptionJobs, ctx: RequestContext, params: dict) -> None:
    """StartMedicalScribeJob's own rules (module docstring). BadRequestException."""
    settings = params["Settings"]
    check_settings(settings)
    validate_new_tags(params.get("Tags", []))
    channels = bool(settings.get("ChannelIdentification"))
    if channels == bool(settings.get("ShowSpeakerLabels")):
        raise BadRequestException(ONE_MODE)
    definitions = params.get("ChannelDefinitions")
    if channels != (definitions is not None):
        raise BadRequestException(CHANNELS_IFF)
    if definitions is not None:
        if {d["ChannelId"] for d in definitions} != {0, 1} or {d["ParticipantRole"] for d in definitions} != {
            "CLINICIAN",
            "PATIENT",
        }:
            raise BadRequestException(BAD_CHANNELS)
    if s3_uri.parse_s3_uri(params["Media"].get("MediaFileUri", ""), (jobs.objects.endpoint,)) is None:
        raise BadRequestException(NOT_AN_S3_URI)
    if settings.get("VocabularyName") and jobs.vocabularies:
        jobs.vocabularies.terms_for_job(ctx.region, settings["VocabularyName"], SCRIBE_LANGUAGE)
    if settings.get("VocabularyFilterName") and jobs.vocabulary_filters:
        jobs.vocabulary_filters.words_for_job(ctx.region, settings["VocabularyFilterName"], SCRIBE_LANGUAGE)


def scribe_plan(name: str, doc: dict, internal: dict) -> JobPlan:
    """The plan of a HealthScribe job (service.plan): en-US, its Settings as a standard job's
    (speaker labels or channels, vocabulary, filter), the transcript at
    `<OutputBucketName>/<name>/transcript.json` (the clinical document goes beside it)."""
    request = {"LanguageCode": SCRIBE_LANGUAGE, "Settings": doc["Settings"], "Media": doc["Media"]}
    return plan_job(name, request, {**internal, "OutputKey": f"{name}/{TRANSCRIPT_FILE}"})


def clinical_document_key(transcript_key: str) -> str:
    """`job/transcript.json` -> `job/summary.json`."""
    folder, _, _ = transcript_key.rpartition("/")
    return f"{folder}/{CLINICAL_DOCUMENT_FILE}" if folder else CLINICAL_DOCUMENT_FILE


MEDICAL_SCRIBE = JobFamily(
    KIND,
    "MedicalScribeJob",
    check_scribe_start,
    kept=("OutputBucketName", "OutputEncryptionKMSKeyId", "KMSEncryptionContext", "MedicalScribeContext"),
    plan=scribe_plan,
    default_settings=(),
)


class MedicalScribeJobs(TranscriptionJobs):
    """The four HealthScribe job operations: the standard job service, with the job's fixed
    LanguageCode, `MedicalScribeContextProvided`, and `MedicalScribeOutput` in place of
    `Transcript` once COMPLETED."""

    def start_job(self, ctx: RequestContext, params: dict) -> dict:
        """-> {MedicalScribeJob}. BadRequestException, ConflictException, LimitExceededException."""
        response = super().start_job(ctx, {**params, "LanguageCode": SCRIBE_LANGUAGE})
        return {"MedicalScribeJob": pick(self._shown(response["MedicalScribeJob"], params), "MedicalScribeJob")}

    def present(self, record: Record) -> dict:
        doc = super().present(record)
        transcript = doc.pop("Transcript", {})
        if record.status == "COMPLETED" and transcript.get("TranscriptFileUri"):
            location = record.internal["ClinicalDocument"]
            doc["MedicalScribeOutput"] = {
                "TranscriptFileUri": transcript["TranscriptFileUri"],
                "ClinicalDocumentUri": self._transcript_uri(record.region, location),
            }
        return pick(self._shown(doc, record.internal), "MedicalScribeJob")

    @staticmethod
    def _shown(doc: dict, request: dict) -> dict:
        return {**doc, "MedicalScribeContextProvided": bool(request.get("MedicalScribeContext"))}


def medical_scribe_jobs(store, pool, objects, **options) -> MedicalScribeJobs:
    """The four HealthScribe job operations; they share the standard jobs' worker pool and
    `options` (clock, vocabularies, vocabulary_filters, progress, max_concurrent_jobs)."""
    return MedicalScribeJobs(
        store, pool, objects, supported_language=lambda code: code == SCRIBE_LANGUAGE, family=MEDICAL_SCRIBE, **options
    )
