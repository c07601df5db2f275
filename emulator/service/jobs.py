"""Transcription jobs: StartTranscriptionJob, GetTranscriptionJob, ListTranscriptionJobs,
DeleteTranscriptionJob, with Amazon Transcribe's semantics and error wording; and the job
service every job family shares.

Plain Python: each operation takes a RequestContext and the request members (already
validated against the botocore model) and returns the response members. A family (standard
jobs here, medical jobs in emulator.service.medical) is a `JobFamily` value: its noun names its
operations, members and shapes (botocore `TranscriptionJob`, `TranscriptionJobSummary`,
`StartTranscriptionJobRequest`, ...); its own Start rules and stored members come with it.
Wording: digest §1.3, §3 and the responses recorded against AWS in
shared/reference/aws-recorded-responses.json.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Callable

from emulator.aws.errors import BadRequestException, LimitExceededException
from emulator.service import s3_uri
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.job_settings import check_start_request
from emulator.service.pagination import PRESIGNED_URL_LIFETIME
from emulator.service.plan import JobPlan, plan_job
from emulator.service.progress import JobProgress
from emulator.service.resources import Resources, copy_members, given_members, members, pick
from emulator.service.state_log import job_changed, job_resumed
from emulator.service.tags import validate_new_tags
from emulator.service.worker import WorkerPool
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError
from emulator.storage.store import Record, Store

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
# Start request members the job object shows in its own form, not as given.
_BUILT = ("LanguageCode", "Media", "Settings", "Subtitles")


@dataclass(frozen=True)
class JobFamily:
    """What tells one job family from another; the operations are the same.

    kind: the Store kind, ARN resource type and worker-pool key (the pipeline that runs it);
    noun: "TranscriptionJob": names the operations (Start{noun}, Get{noun}, List{noun}s,
      Delete{noun}), the job's name member ({noun}Name), the Start and Get output member and
      the botocore shapes ({noun}, {noun}Summary, Start{noun}Request, List{noun}sResponse);
    check_start: the family's own Start rules, (jobs, ctx, params) -> None, raising
      BadRequestException;
    kept: request members stored for the pipeline, not shown (None when absent);
    plan: the job's plan from its stored request, (name, doc, internal) -> JobPlan (service.plan);
    default_settings: what `Settings` holds when the request leaves it out.
    The status member and the members a job echoes are read from the family's shapes.
    """

    kind: str
    noun: str
    check_start: Callable[[TranscriptionJobs, RequestContext, dict], None]
    kept: tuple[str, ...] = ("OutputBucketName", "OutputKey", "OutputEncryptionKMSKeyId")
    plan: Callable[[str, dict, dict], JobPlan] = plan_job
    default_settings: tuple[tuple[str, object], ...] = tuple(DEFAULT_SETTINGS.items())

    @property
    def name_member(self) -> str:
        return f"{self.noun}Name"

    @functools.cached_property
    def status_member(self) -> str:
        """The job shape's status member (TranscriptionJobStatus; CallAnalyticsJobStatus)."""
        return next(m for m in members(self.noun) if m.endswith("JobStatus"))

    @functools.cached_property
    def echoed(self) -> tuple[str, ...]:
        """Start request members the job object shows as given (both shapes have them)."""
        built = {self.name_member, *_BUILT}
        return tuple(m for m in given_members(f"Start{self.noun}Request", self.noun) if m not in built)


class TranscriptionJobs(Resources):
    """The four job operations of one family over the store, the worker pool and S3. Jobs go to
    the pool as (kind, region, name)."""

    not_found = BadRequestException  # AWS answers a missing job so (the model also declares NotFound)
    NOT_FOUND = JOB_NOT_FOUND
    EXISTS = JOB_EXISTS
    status_filter = "Status"
    name_filter = "JobNameContains"

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
        family: JobFamily | None = None,
    ):
        super().__init__(store, clock)
        self.family = family or TRANSCRIPTION
        self.kind = self.family.kind
        self.list_shape = f"List{self.family.noun}sResponse"
        self.language_models = language_models
        self.progress = progress or JobProgress()  # shared with the pipelines (app.build_runtime)
        self.max_concurrent_jobs = max_concurrent_jobs
        self.pool = pool
        self.objects = objects
        self.supported_language = supported_language
        # Optional so the job service stands alone in tests; the app always wires them.
        self.vocabularies = vocabularies
        self.vocabulary_filters = vocabulary_filters

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        """AWS operation name -> method(ctx, params)."""
        noun = self.family.noun
        return {
            f"Start{noun}": self.start_job,
            f"Get{noun}": self.get_job,
            f"List{noun}s": self.list_jobs,
            f"Delete{noun}": self.delete_job,
        }

    # --- Start --------------------------------------------------------------------------

    def start_job(self, ctx: RequestContext, params: dict) -> dict:
        """-> {noun: the job} (IN_PROGRESS, or QUEUED while no worker is free). BadRequestException
        (the family's rules), ConflictException (name taken), LimitExceededException (quota)."""
        name = params[self.family.name_member]
        self.family.check_start(self, ctx, params)
        now = self.clock()
        doc = {self.family.name_member: name, self.family.status_member: "QUEUED"}
        copy_members(doc, params, ("LanguageCode",))
        doc.update(
            {
                "Media": params["Media"],
                "CreationTime": now,
                "Transcript": {},
                "Settings": {**dict(self.family.default_settings), **params.get("Settings", {})},
            }
        )
        copy_members(doc, params, self.family.echoed)
        if params.get("Subtitles", {}).get("Formats") and "Subtitles" in members(self.family.noun):
            # Only a job that asks for subtitle files shows Subtitles (issue 13 §4: AWS shows no
            # OutputStartIndex otherwise); its OutputStartIndex defaults to 0 (botocore docs).
            doc["Subtitles"] = {"OutputStartIndex": 0, **params["Subtitles"]}
        internal = {m: params.get(m) for m in self.family.kept}
        internal["AccountId"] = ctx.account_id
        execution = params.get("JobExecutionSettings", {}) if "JobExecutionSettings" in self.family.echoed else {}
        deferred = execution.get("AllowDeferredExecution", False)
        self._admit(ctx, name, doc, internal, deferred, now)
        return {self.family.noun: started_job(doc, params)}

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
            doc[self.family.status_member] = "IN_PROGRESS"
            doc["StartTime"] = now
        internal["Plan"] = self.family.plan(name, doc, internal).to_json()  # issue 12: the job plan, computed once at Start
        record = Record(self.kind, ctx.region, name, doc[self.family.status_member], now, doc, internal)
        try:
            self._insert(record)
        except BaseException:  # a taken name, or StoreUnavailable (disk full): nothing stored, nothing reserved
            self.pool.release()
            raise
        key = (self.kind, ctx.region, name)
        self.progress.start(key, record.status)
        job_changed(self.kind, ctx.region, name, None, record.status)
        self.pool.submit(key)

    # --- Get ----------------------------------------------------------------------------

    def get_job(self, ctx: RequestContext, params: dict) -> dict:
        """-> {noun: the job}; TranscriptFileUri once COMPLETED. BadRequestException (no such job)."""
        record = self._find(ctx.region, params[self.family.name_member])
        return {self.family.noun: self.present(record)}

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

    # --- List ---------------------------------------------------------------------------

    def list_jobs(self, ctx: RequestContext, params: dict) -> dict:
        """-> List{noun}sResponse: newest first, Status and JobNameContains filters, MaxResults
        (default 5), NextToken. BadRequestException (bad token)."""
        return self._list(ctx.region, params, self._summary)

    def _summary(self, record: Record) -> dict:
        where = "CUSTOMER_BUCKET" if record.internal.get("OutputBucketName") else "SERVICE_BUCKET"
        return pick({**record.doc, "OutputLocationType": where}, f"{self.family.noun}Summary")

    # --- Delete -------------------------------------------------------------------------

    def delete_job(self, ctx: RequestContext, params: dict) -> dict:
        """-> {}. BadRequestException (no such job). A transcript in the customer's bucket stays
        (it is the customer's object); one in the service bucket goes with the job."""
        record = self._find(ctx.region, params[self.family.name_member])
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
        return {}

    # --- restart ------------------------------------------------------------------------

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


def check_transcription_start(jobs: TranscriptionJobs, ctx: RequestContext, params: dict) -> None:
    """StartTranscriptionJob's own rules: settings (emulator.service.job_settings), tags, a
    language with a speech model, an S3 media URI, and the vocabularies, filters and language
    models it names. BadRequestException."""
    check_start_request(params)
    validate_new_tags(params.get("Tags", []))
    languages = [params["LanguageCode"]] if "LanguageCode" in params else params.get("LanguageOptions", [])
    for code in languages:
        if not jobs.supported_language(code):
            raise BadRequestException(
                f"The emulator has no speech model for language code {code}. "
                "Add a multilingual Whisper model that supports it, or use another language code."
            )
    if s3_uri.parse_s3_uri(params["Media"].get("MediaFileUri", ""), (jobs.objects.endpoint,)) is None:
        raise BadRequestException(
            "The URI that you provided doesn't point to an S3 object. "
            "Make sure that the object exists and try your request again."
        )
    for language, settings in job_resource_settings(params):
        if language is None:
            continue  # identified at run time; the pipeline checks the language then
        if settings.get("VocabularyName") and jobs.vocabularies:
            jobs.vocabularies.terms_for_job(ctx.region, settings["VocabularyName"], language)
        model_name = settings.get("LanguageModelName")
        if model_name and jobs.language_models:
            jobs.language_models.prompt_for_job(ctx.region, model_name, language)
        if settings.get("VocabularyFilterName") and jobs.vocabulary_filters:
            jobs.vocabulary_filters.words_for_job(ctx.region, settings["VocabularyFilterName"], language)


TRANSCRIPTION = JobFamily(KIND, "TranscriptionJob", check_transcription_start)


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
