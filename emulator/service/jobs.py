"""Transcription jobs: StartTranscriptionJob, GetTranscriptionJob, ListTranscriptionJobs,
DeleteTranscriptionJob, with Amazon Transcribe's semantics and error wording.

Plain Python: each operation takes a RequestContext and the request members (already
validated against the botocore model) and returns the response members. Shapes:
botocore `TranscriptionJob`, `TranscriptionJobSummary`; wording: digest §1.3, §3 and the
responses recorded against AWS in shared/reference/aws-recorded-responses.json.
"""

from __future__ import annotations

import logging
from typing import Callable

from emulator.aws.errors import BadRequestException, ConflictException, LimitExceededException
from emulator.service import s3_uri
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.job_settings import check_start_request
from emulator.service.pagination import PRESIGNED_URL_LIFETIME, paginate
from emulator.service.plan import plan_job
from emulator.service.progress import JobProgress
from emulator.service.state_log import job_changed, job_resumed
from emulator.service.tags import validate_new_tags
from emulator.service.worker import WorkerPool
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError
from emulator.storage.store import AlreadyExists, Record, Store

log = logging.getLogger(__name__)

KIND = "transcription-job"
UNFINISHED = ("QUEUED", "IN_PROGRESS")

# AWS does not publish this message; it names the quota and the way around it.
CONCURRENCY_LIMIT = (
    "You have reached the limit of {limit} concurrent transcription jobs. Wait for a job to finish, "
    "or set JobExecutionSettings.AllowDeferredExecution to queue the job, and try your request again."
)
JOB_NOT_FOUND = "The requested job couldn't be found. Check the job name and try your request again."
JOB_EXISTS = "The requested job name already exists. Use a different job name."
DEFAULT_SETTINGS = {"ChannelIdentification": False, "ShowAlternatives": False}
# Request members the job object shows as given (botocore `TranscriptionJob`).
_ECHOED = (
    "MediaFormat",
    "MediaSampleRateHertz",
    "IdentifyLanguage",
    "IdentifyMultipleLanguages",
    "LanguageOptions",
    "LanguageIdSettings",
    "JobExecutionSettings",
    "ContentRedaction",
    "ModelSettings",
    "Tags",
)


class TranscriptionJobs:
    """The four job operations over the store, the worker pool and S3. Jobs go to the pool
    as (kind, region, name)."""

    kind = KIND  # the Store kind of the records (emulator.service.medical subclasses this)

    def __init__(
        self,
        store: Store,
        pool: WorkerPool,
        objects: ObjectStore,
        supported_language: Callable[[str], bool],
        clock: Callable[[], float] = aws_now,
        vocabularies=None,
        vocabulary_filters=None,
        max_concurrent_jobs: int = 100,
        language_models=None,
        progress: JobProgress | None = None,
    ):
        self.language_models = language_models
        self.progress = progress or JobProgress()  # shared with the pipelines (app.build_runtime)
        self.max_concurrent_jobs = max_concurrent_jobs
        self.store = store
        self.pool = pool
        self.objects = objects
        self.supported_language = supported_language
        self.clock = clock
        # Optional so the job service stands alone in tests; the app always wires them.
        self.vocabularies = vocabularies
        self.vocabulary_filters = vocabulary_filters

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        """AWS operation name -> method(ctx, params)."""
        return {
            "StartTranscriptionJob": self.start_transcription_job,
            "GetTranscriptionJob": self.get_transcription_job,
            "ListTranscriptionJobs": self.list_transcription_jobs,
            "DeleteTranscriptionJob": self.delete_transcription_job,
        }

    # --- StartTranscriptionJob ----------------------------------------------------------

    def start_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        name = params["TranscriptionJobName"]
        self._check_start(ctx, params)
        now = self.clock()
        doc = {
            "TranscriptionJobName": name,
            "TranscriptionJobStatus": "QUEUED",
        }
        if "LanguageCode" in params:
            doc["LanguageCode"] = params["LanguageCode"]
        doc.update(
            {
                "Media": params["Media"],
                "CreationTime": now,
                "Transcript": {},
                "Settings": {**DEFAULT_SETTINGS, **params.get("Settings", {})},
            }
        )
        for member in _ECHOED:
            if member in params:
                doc[member] = params[member]
        if "Subtitles" in params:
            doc["Subtitles"] = {"OutputStartIndex": 0, **params["Subtitles"]}
        internal = {
            "OutputBucketName": params.get("OutputBucketName"),
            "OutputKey": params.get("OutputKey"),
            "OutputEncryptionKMSKeyId": params.get("OutputEncryptionKMSKeyId"),
            "AccountId": ctx.account_id,
        }
        deferred = params.get("JobExecutionSettings", {}).get("AllowDeferredExecution", False)
        self._admit(ctx, name, doc, internal, deferred, now)
        return {"TranscriptionJob": started_job(doc, params)}

    def _admit(self, ctx: RequestContext, name: str, doc: dict, internal: dict, deferred: bool, now: float) -> None:
        """Stores a new job (IN_PROGRESS when a worker is free, else QUEUED; `doc` is updated)
        and hands it to the worker pool. BadRequestException for an OutputKey the S3 server
        would rewrite (s3_uri.check_output_key); LimitExceededException beyond the concurrency
        quota unless deferred; ConflictException for a taken name; StoreUnavailable
        (InternalFailureException) when the store cannot write, with nothing stored."""
        s3_uri.check_output_key(internal.get("OutputKey"))
        if self.pool.in_flight >= self.max_concurrent_jobs and not deferred:
            raise LimitExceededException(CONCURRENCY_LIMIT.format(limit=self.max_concurrent_jobs))
        if self.pool.reserve():
            doc["TranscriptionJobStatus"] = "IN_PROGRESS"
            doc["StartTime"] = now
        internal["Plan"] = plan_job(name, doc, internal).to_json()  # issue 12: the job plan, computed once at Start
        record = Record(self.kind, ctx.region, name, doc["TranscriptionJobStatus"], now, doc, internal)
        try:
            self.store.insert(record)
        except AlreadyExists:
            self.pool.release()
            raise ConflictException(JOB_EXISTS) from None
        except BaseException:  # StoreUnavailable (disk full): nothing stored, nothing reserved
            self.pool.release()
            raise
        key = (self.kind, ctx.region, name)
        self.progress.start(key, record.status)
        job_changed(self.kind, ctx.region, name, None, record.status)
        self.pool.submit(key)

    def _check_start(self, ctx: RequestContext, params: dict) -> None:
        check_start_request(params)
        validate_new_tags(params.get("Tags", []))
        languages = [params["LanguageCode"]] if "LanguageCode" in params else params.get("LanguageOptions", [])
        for code in languages:
            if not self.supported_language(code):
                raise BadRequestException(
                    f"The emulator has no speech model for language code {code}. "
                    "Add a multilingual Whisper model that supports it, or use another language code."
                )
        if s3_uri.parse_s3_uri(params["Media"].get("MediaFileUri", ""), (self.objects.endpoint,)) is None:
            raise BadRequestException(
                "The URI that you provided doesn't point to an S3 object. "
                "Make sure that the object exists and try your request again."
            )
        for language, settings in job_resource_settings(params):
            if language is None:
                continue  # identified at run time; the pipeline checks the language then
            if settings.get("VocabularyName") and self.vocabularies:
                self.vocabularies.terms_for_job(ctx.region, settings["VocabularyName"], language)
            model_name = settings.get("LanguageModelName")
            if model_name and self.language_models:
                self.language_models.prompt_for_job(ctx.region, model_name, language)
            if settings.get("VocabularyFilterName") and self.vocabulary_filters:
                self.vocabulary_filters.words_for_job(ctx.region, settings["VocabularyFilterName"], language)

    # --- GetTranscriptionJob ------------------------------------------------------------

    def get_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        record = self._find(ctx, params["TranscriptionJobName"])
        return {"TranscriptionJob": self.present(record)}

    def present(self, record: Record) -> dict:
        """The job as AWS shows it; a service-bucket URI is presigned anew on each call."""
        doc = dict(record.doc)
        if record.status == "COMPLETED":
            transcript = {}
            for member, internal_key in (("TranscriptFileUri", "Transcript"), ("RedactedTranscriptFileUri", "RedactedTranscript")):
                if record.internal.get(internal_key):
                    transcript[member] = self._transcript_uri(record.region, record.internal[internal_key])
            doc["Transcript"] = transcript
            subtitles = record.internal.get("Subtitles")
            if subtitles:
                doc["Subtitles"] = {
                    **doc["Subtitles"],
                    "SubtitleFileUris": [self._transcript_uri(record.region, loc) for loc in subtitles],
                }
        return doc

    def _transcript_uri(self, region: str, location: dict) -> str:
        if location["type"] == "SERVICE_BUCKET":
            return self.objects.presigned_get(location["bucket"], location["key"], PRESIGNED_URL_LIFETIME)
        return s3_uri.public_s3_url(region, location["bucket"], location["key"])

    # --- ListTranscriptionJobs ----------------------------------------------------------

    def list_transcription_jobs(self, ctx: RequestContext, params: dict) -> dict:
        status = params.get("Status")
        records = self.store.list(self.kind, ctx.region, status, params.get("JobNameContains"))
        page, next_token = paginate(records, params)
        response: dict = {}
        if status:
            response["Status"] = status
        if next_token:
            response["NextToken"] = next_token
        response["TranscriptionJobSummaries"] = [self._summary(r) for r in page]
        return response

    @staticmethod
    def _summary(record: Record) -> dict:
        doc = record.doc
        summary = {
            k: doc[k]
            for k in (
                "TranscriptionJobName",
                "CreationTime",
                "StartTime",
                "CompletionTime",
                "LanguageCode",
                "TranscriptionJobStatus",
                "FailureReason",
                "IdentifyLanguage",
                "IdentifyMultipleLanguages",
                "IdentifiedLanguageScore",
                "LanguageCodes",
            )
            if k in doc
        }
        summary["OutputLocationType"] = (
            "CUSTOMER_BUCKET" if record.internal.get("OutputBucketName") else "SERVICE_BUCKET"
        )
        return summary

    # --- DeleteTranscriptionJob ---------------------------------------------------------

    def delete_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        self._delete(ctx, params["TranscriptionJobName"])
        return {}

    def _delete(self, ctx: RequestContext, name: str) -> None:
        record = self._find(ctx, name)
        if self.store.delete(self.kind, ctx.region, record.name):
            self.progress.finish((self.kind, ctx.region, record.name))
            job_changed(self.kind, ctx.region, record.name, record.status, None)
        for internal_key in ("Transcript", "RedactedTranscript"):
            location = record.internal.get(internal_key)
            if location and location["type"] == "SERVICE_BUCKET":
                try:
                    self.objects.delete(location["bucket"], location["key"])
                except (ObjectNotFound, StorageError) as e:  # the job is gone; an orphan file is harmless
                    log.warning("job %s deleted, its transcript %s/%s not: %s",
                                record.name, location["bucket"], location["key"], e)

    # --- shared -------------------------------------------------------------------------

    def _find(self, ctx: RequestContext, name: str) -> Record:
        record = self.store.get(self.kind, ctx.region, name)
        if record is None:
            raise BadRequestException(JOB_NOT_FOUND)
        return record

    def resume_unfinished(self) -> int:
        """Re-queues jobs that were queued or running when the process stopped; returns how many."""
        records = self.store.with_status(self.kind, UNFINISHED)
        for record in records:
            key = (self.kind, record.region, record.name)
            self.pool.reserve()
            self.progress.start(key, record.status)
            job_resumed(self.kind, record.region, record.name, record.status)
            self.pool.submit(key)
        return len(records)


def started_job(doc: dict, params: dict) -> dict:
    """What AWS echoes right after Start: no Transcript, Settings only if the request gave them."""
    shown = {k: v for k, v in doc.items() if k not in ("Transcript", "Settings")}
    if "Settings" in params:
        shown["Settings"] = doc["Settings"]
    return shown


def job_resource_settings(params: dict) -> list[tuple[str | None, dict]]:
    """(language, settings naming a vocabulary, filter or language model) pairs of a request: the
    job's `Settings` + `ModelSettings` (for its LanguageCode, None when identified) and each
    `LanguageIdSettings` entry."""
    settings = {**params.get("Settings", {}), **params.get("ModelSettings", {})}
    pairs: list[tuple[str | None, dict]] = [(params.get("LanguageCode"), settings)]
    pairs.extend(params.get("LanguageIdSettings", {}).items())
    return pairs
