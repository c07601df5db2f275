"""Medical transcription jobs: StartMedicalTranscriptionJob, GetMedicalTranscriptionJob,
ListMedicalTranscriptionJobs, DeleteMedicalTranscriptionJob.

The job service of standard jobs (emulator.service.jobs: lifecycle, worker pool, concurrency
quota, presigned URIs) with the family value MEDICAL, in its own namespace (Store kind and ARN resource type
`medical-transcription-job`: a medical and a standard job may share a name). Shapes: botocore
`MedicalTranscriptionJob`, `MedicalTranscriptionJobSummary`; rules: digest §3.6 and the
model's documentation of `StartMedicalTranscriptionJobRequest`:
* `LanguageCode` must be en-US (anything else: BadRequestException, as AWS documents);
* `OutputBucketName`, `Specialty` (PRIMARYCARE) and `Type` (CONVERSATION | DICTATION) are
  required (the wire validation checks presence and enums);
* `Settings` pairs as for standard jobs; `VocabularyName` names a READY *medical* vocabulary;
* KMS members are accepted and recorded, not used.
The run itself is emulator.service.medical_pipeline.
"""

from __future__ import annotations

from emulator.aws.errors import BadRequestException
from emulator.service import s3_uri
from emulator.service.context import RequestContext
from emulator.service.job_settings import check_settings
from emulator.service.jobs import JobFamily, TranscriptionJobs
from emulator.service.medical_pipeline import KIND
from emulator.service.medical_vocabularies import MEDICAL_LANGUAGE
from emulator.service.tags import validate_new_tags
from emulator.service.vocabularies import NOT_AN_S3_URI

# AWS documents the rule, not its message; ours names the one valid value.
MEDICAL_LANGUAGE_ONLY = (
    "The language code {code} isn't supported for medical transcription jobs. "
    "Use en-US and try your request again."
)


def check_medical_start(jobs: TranscriptionJobs, ctx: RequestContext, params: dict) -> None:
    """StartMedicalTranscriptionJob's own rules: en-US, settings, tags, an S3 media URI, and a
    READY medical vocabulary when one is named. BadRequestException."""
    if params["LanguageCode"] != MEDICAL_LANGUAGE:
        raise BadRequestException(MEDICAL_LANGUAGE_ONLY.format(code=params["LanguageCode"]))
    settings = params.get("Settings", {})
    check_settings(settings)
    validate_new_tags(params.get("Tags", []))
    if s3_uri.parse_s3_uri(params["Media"].get("MediaFileUri", ""), (jobs.objects.endpoint,)) is None:
        raise BadRequestException(NOT_AN_S3_URI)
    if settings.get("VocabularyName") and jobs.vocabularies:
        jobs.vocabularies.terms_for_job(ctx.region, settings["VocabularyName"], MEDICAL_LANGUAGE)


MEDICAL = JobFamily(
    KIND,
    "MedicalTranscriptionJob",
    check_medical_start,
    kept=("OutputBucketName", "OutputKey", "OutputEncryptionKMSKeyId", "KMSEncryptionContext"),
)


def medical_transcription_jobs(
    store, pool, objects, medical_vocabularies=None, max_concurrent_jobs: int = 100, **options
) -> TranscriptionJobs:
    """The four medical job operations; they share the standard jobs' worker pool (and `options`:
    clock, progress). The language check is check_medical_start's."""
    return TranscriptionJobs(
        store,
        pool,
        objects,
        supported_language=lambda code: code == MEDICAL_LANGUAGE,
        vocabularies=medical_vocabularies,
        max_concurrent_jobs=max_concurrent_jobs,
        family=MEDICAL,
        **options,
    )
