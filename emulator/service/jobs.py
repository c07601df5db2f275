"""Transcription jobs: StartTranscriptionJob, GetTranscriptionJob, ListTranscriptionJobs,
DeleteTranscriptionJob, with Amazon Transcribe's semantics and error wording.

Plain Python: each operation takes a RequestContext and the request members (already
validated against the botocore model) and returns the response members. Shapes:
botocore `TranscriptionJob`, `TranscriptionJobSummary`; wording: digest §1.3, §3 and the
responses recorded against AWS in shared/reference/aws-recorded-responses.json.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from emulator.aws.errors import BadRequestException, ConflictException
from emulator.service import s3_uri
from emulator.service.store import AlreadyExists, Record, Store
from emulator.service.worker import WorkerPool
from emulator.storage.s3 import ObjectStore

KIND = "transcription-job"
UNFINISHED = ("QUEUED", "IN_PROGRESS")
PRESIGNED_URL_LIFETIME = timedelta(minutes=15)  # AWS: service-bucket URIs are valid 15 minutes
DEFAULT_MAX_RESULTS = 5

JOB_NOT_FOUND = "The requested job couldn't be found. Check the job name and try your request again."
JOB_EXISTS = "The requested job name already exists. Use a different job name."
LANGUAGE_MISSING = (
    "The language code is missing. Either add a language code or turn on language identification."
)
INVALID_NEXT_TOKEN = "The NextToken that you provided is invalid. Check the token and try your request again."

# Settings whose real effect lands with the job-settings work; until then a request that
# turns one on is refused openly instead of being echoed and ignored.
_NOT_YET = "The emulator does not support {} yet. See the README's differences from AWS."
_DEFAULT_SETTINGS = {"ChannelIdentification": False, "ShowAlternatives": False}


@dataclass(frozen=True)
class RequestContext:
    """Who is asking: the region comes from the SigV4 credential scope."""

    region: str
    account_id: str


def _now() -> float:
    return round(time.time(), 3)


class TranscriptionJobs:
    """The four job operations over the store, the worker pool and S3."""

    def __init__(
        self,
        store: Store,
        pool: WorkerPool,
        objects: ObjectStore,
        supported_language: Callable[[str], bool],
        clock: Callable[[], float] = _now,
    ):
        self.store = store
        self.pool = pool
        self.objects = objects
        self.supported_language = supported_language
        self.clock = clock

    # --- StartTranscriptionJob ----------------------------------------------------------

    def start_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        name = params["TranscriptionJobName"]
        self._check_start(params)
        now = self.clock()
        doc = {
            "TranscriptionJobName": name,
            "TranscriptionJobStatus": "QUEUED",
            "LanguageCode": params["LanguageCode"],
            "Media": params["Media"],
            "CreationTime": now,
            "Transcript": {},
            "Settings": {**_DEFAULT_SETTINGS, **params.get("Settings", {})},
        }
        for member in ("MediaFormat", "MediaSampleRateHertz", "JobExecutionSettings", "Tags"):
            if member in params:
                doc[member] = params[member]
        internal = {
            "OutputBucketName": params.get("OutputBucketName"),
            "OutputKey": params.get("OutputKey"),
            "OutputEncryptionKMSKeyId": params.get("OutputEncryptionKMSKeyId"),
            "AccountId": ctx.account_id,
        }
        starts_now = self.pool.reserve()
        if starts_now:
            doc["TranscriptionJobStatus"] = "IN_PROGRESS"
            doc["StartTime"] = now
        record = Record(KIND, ctx.region, name, doc["TranscriptionJobStatus"], now, doc, internal)
        try:
            self.store.insert(record)
        except AlreadyExists:
            self.pool.release()
            raise ConflictException(JOB_EXISTS) from None
        self.pool.submit((ctx.region, name))
        # What AWS echoes right after Start: no Transcript, Settings only if given.
        shown = {k: v for k, v in doc.items() if k not in ("Transcript", "Settings")}
        if "Settings" in params:
            shown["Settings"] = doc["Settings"]
        return {"TranscriptionJob": shown}

    def _check_start(self, params: dict) -> None:
        language_choices = [
            m for m in ("LanguageCode", "IdentifyLanguage", "IdentifyMultipleLanguages") if params.get(m)
        ]
        if not language_choices:
            raise BadRequestException(LANGUAGE_MISSING)
        for member in ("IdentifyLanguage", "IdentifyMultipleLanguages", "LanguageOptions", "LanguageIdSettings"):
            if member in params:
                raise BadRequestException(_NOT_YET.format(f"automatic language identification ({member})"))
        for member, what in (
            ("ContentRedaction", "content redaction (ContentRedaction)"),
            ("Subtitles", "subtitles (Subtitles)"),
            ("ModelSettings", "custom language models (ModelSettings)"),
            ("ToxicityDetection", "toxicity detection (ToxicityDetection)"),
        ):
            if member in params:
                raise BadRequestException(_NOT_YET.format(what))
        settings = params.get("Settings", {})
        for member in ("ShowSpeakerLabels", "ChannelIdentification", "ShowAlternatives"):
            if settings.get(member):
                raise BadRequestException(_NOT_YET.format(f"Settings.{member}"))
        for member in ("MaxSpeakerLabels", "MaxAlternatives", "VocabularyName", "VocabularyFilterName"):
            if member in settings:
                raise BadRequestException(_NOT_YET.format(f"Settings.{member}"))
        if not self.supported_language(params["LanguageCode"]):
            raise BadRequestException(
                f"The emulator has no speech model for language code {params['LanguageCode']}. "
                "Add a multilingual Whisper model that supports it, or use another language code."
            )
        if s3_uri.parse_s3_uri(params["Media"].get("MediaFileUri", ""), (self.objects.endpoint,)) is None:
            raise BadRequestException(
                "The URI that you provided doesn't point to an S3 object. "
                "Make sure that the object exists and try your request again."
            )

    # --- GetTranscriptionJob ------------------------------------------------------------

    def get_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        record = self._find(ctx, params["TranscriptionJobName"])
        return {"TranscriptionJob": self.present(record)}

    def present(self, record: Record) -> dict:
        """The job as AWS shows it; a service-bucket URI is presigned anew on each call."""
        doc = dict(record.doc)
        location = record.internal.get("Transcript")
        if record.status == "COMPLETED" and location:
            doc["Transcript"] = {"TranscriptFileUri": self._transcript_uri(record.region, location)}
        return doc

    def _transcript_uri(self, region: str, location: dict) -> str:
        if location["type"] == "SERVICE_BUCKET":
            return self.objects.presigned_get(location["bucket"], location["key"], PRESIGNED_URL_LIFETIME)
        return s3_uri.public_s3_url(region, location["bucket"], location["key"])

    # --- ListTranscriptionJobs ----------------------------------------------------------

    def list_transcription_jobs(self, ctx: RequestContext, params: dict) -> dict:
        status = params.get("Status")
        records = self.store.list(KIND, ctx.region, status, params.get("JobNameContains"))
        start = _decode_token(params["NextToken"]) if "NextToken" in params else 0
        limit = params.get("MaxResults", DEFAULT_MAX_RESULTS)
        page = records[start : start + limit]
        response: dict = {}
        if status:
            response["Status"] = status
        if start + limit < len(records):
            response["NextToken"] = _encode_token(start + limit)
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
            )
            if k in doc
        }
        summary["OutputLocationType"] = (
            "CUSTOMER_BUCKET" if record.internal.get("OutputBucketName") else "SERVICE_BUCKET"
        )
        return summary

    # --- DeleteTranscriptionJob ---------------------------------------------------------

    def delete_transcription_job(self, ctx: RequestContext, params: dict) -> dict:
        record = self._find(ctx, params["TranscriptionJobName"])
        self.store.delete(KIND, ctx.region, record.name)
        location = record.internal.get("Transcript")
        if location and location["type"] == "SERVICE_BUCKET":
            self.objects.delete(location["bucket"], location["key"])
        return {}

    # --- shared -------------------------------------------------------------------------

    def _find(self, ctx: RequestContext, name: str) -> Record:
        record = self.store.get(KIND, ctx.region, name)
        if record is None:
            raise BadRequestException(JOB_NOT_FOUND)
        return record

    def resume_unfinished(self) -> int:
        """Re-queues jobs that were queued or running when the process stopped; returns how many."""
        records = self.store.with_status(KIND, UNFINISHED)
        for record in records:
            self.pool.reserve()
            self.pool.submit((record.region, record.name))
        return len(records)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadRequestException(INVALID_NEXT_TOKEN) from None
    if not isinstance(offset, int) or offset < 0:
        raise BadRequestException(INVALID_NEXT_TOKEN)
    return offset
