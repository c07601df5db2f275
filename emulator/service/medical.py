"""Medical transcription jobs: StartMedicalTranscriptionJob, GetMedicalTranscriptionJob,
ListMedicalTranscriptionJobs, DeleteMedicalTranscriptionJob.

The job lifecycle, worker pool, concurrency quota and presigned URIs of standard jobs
(emulator.service.jobs), in their own namespace (Store kind and ARN resource type
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

from typing import Callable

from emulator.aws.errors import BadRequestException
from emulator.service import s3_uri
from emulator.service.context import RequestContext
from emulator.service.job_settings import UNSUPPORTED, check_settings
from emulator.service.jobs import DEFAULT_SETTINGS, TranscriptionJobs, started_job
from emulator.service.medical_pipeline import KIND
from emulator.service.medical_vocabularies import MEDICAL_LANGUAGE
from emulator.service.pagination import paginate
from emulator.service.tags import validate_new_tags
from emulator.service.vocabularies import NOT_AN_S3_URI
from emulator.storage.store import Record

# AWS documents the rule, not its message; ours names the one valid value.
MEDICAL_LANGUAGE_ONLY = (
    "The language code {code} isn't supported for medical transcription jobs. "
    "Use en-US and try your request again."
)
_ECHOED = ("MediaSampleRateHertz", "MediaFormat", "ContentIdentificationType", "Specialty", "Type", "Tags")
_SUMMARY_MEMBERS = (
    "MedicalTranscriptionJobName",
    "CreationTime",
    "StartTime",
    "CompletionTime",
    "LanguageCode",
    "TranscriptionJobStatus",
    "FailureReason",
    "OutputLocationType",
    "Specialty",
    "ContentIdentificationType",
    "Type",
)


class MedicalTranscriptionJobs(TranscriptionJobs):
    """The four medical job operations; shares the standard jobs' worker pool."""

    kind = KIND

    def __init__(
        self, store, pool, objects, medical_vocabularies=None, clock=None, max_concurrent_jobs: int = 100, progress=None
    ):
        super().__init__(
            store,
            pool,
            objects,
            supported_language=lambda code: code == MEDICAL_LANGUAGE,
            max_concurrent_jobs=max_concurrent_jobs,
            vocabularies=medical_vocabularies,
            progress=progress,
            **({"clock": clock} if clock else {}),
        )

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        return {
            "StartMedicalTranscriptionJob": self.start_medical_transcription_job,
            "GetMedicalTranscriptionJob": self.get_medical_transcription_job,
            "ListMedicalTranscriptionJobs": self.list_medical_transcription_jobs,
            "DeleteMedicalTranscriptionJob": self.delete_medical_transcription_job,
        }

    def start_medical_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        """-> {"MedicalTranscriptionJob": ...} (IN_PROGRESS or QUEUED). BadRequestException,
        ConflictException (name taken), LimitExceededException (quota)."""
        name = params["MedicalTranscriptionJobName"]
        self._check_medical_start(ctx, params)
        now = self.clock()
        doc = {
            "MedicalTranscriptionJobName": name,
            "TranscriptionJobStatus": "QUEUED",
            "LanguageCode": params["LanguageCode"],
            "Media": params["Media"],
            "CreationTime": now,
            "Transcript": {},
            "Settings": {**DEFAULT_SETTINGS, **params.get("Settings", {})},
        }
        for member in _ECHOED:
            if member in params:
                doc[member] = params[member]
        internal = {
            "OutputBucketName": params["OutputBucketName"],
            "OutputKey": params.get("OutputKey"),
            "OutputEncryptionKMSKeyId": params.get("OutputEncryptionKMSKeyId"),
            "KMSEncryptionContext": params.get("KMSEncryptionContext"),
            "AccountId": ctx.account_id,
        }
        self._admit(ctx, name, doc, internal, deferred=False, now=now)
        return {"MedicalTranscriptionJob": started_job(doc, params)}

    def _check_medical_start(self, ctx: RequestContext, params: dict) -> None:
        if params["LanguageCode"] != MEDICAL_LANGUAGE:
            raise BadRequestException(MEDICAL_LANGUAGE_ONLY.format(code=params["LanguageCode"]))
        settings = params.get("Settings", {})
        check_settings(settings)
        if settings.get("ShowAlternatives") and settings.get("ChannelIdentification"):
            raise BadRequestException(
                f"The emulator does not support {UNSUPPORTED['AlternativesCombined']}. "
                "See the README's differences from AWS."
            )
        validate_new_tags(params.get("Tags", []))
        if s3_uri.parse_s3_uri(params["Media"].get("MediaFileUri", ""), (self.objects.endpoint,)) is None:
            raise BadRequestException(NOT_AN_S3_URI)
        if settings.get("VocabularyName") and self.vocabularies:
            self.vocabularies.terms_for_job(ctx.region, settings["VocabularyName"], MEDICAL_LANGUAGE)

    def get_medical_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        """-> {"MedicalTranscriptionJob": ...}; TranscriptFileUri once COMPLETED. BadRequestException
        when there is no such job (as for standard jobs; the model also declares NotFoundException)."""
        record = self._find(ctx, params["MedicalTranscriptionJobName"])
        return {"MedicalTranscriptionJob": self.present(record)}

    def list_medical_transcription_jobs(self, ctx: RequestContext, params: dict) -> dict:
        """-> ListMedicalTranscriptionJobsResponse: newest first, Status and JobNameContains
        filters, MaxResults (default 5), NextToken."""
        status = params.get("Status")
        records = self.store.list(self.kind, ctx.region, status, params.get("JobNameContains"))
        page, next_token = paginate(records, params)
        response: dict = {}
        if status:
            response["Status"] = status
        if next_token:
            response["NextToken"] = next_token
        response["MedicalTranscriptionJobSummaries"] = [_summary(r) for r in page]
        return response

    def delete_medical_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        """-> {}. BadRequestException when there is no such job. The transcript in the
        customer's bucket stays (it is the customer's object)."""
        self._delete(ctx, params["MedicalTranscriptionJobName"])
        return {}


def _summary(record: Record) -> dict:
    doc = {**record.doc, "OutputLocationType": "CUSTOMER_BUCKET"}
    return {k: doc[k] for k in _SUMMARY_MEMBERS if k in doc}

