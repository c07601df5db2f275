"""Custom vocabularies: CreateVocabulary, GetVocabulary, ListVocabularies, UpdateVocabulary,
DeleteVocabulary, with Amazon Transcribe's states and error wording.

Lifecycle (botocore `VocabularyState`): Create and Update answer PENDING at once; a small
pool of daemon threads then reads the source (the `Phrases` member, or the table at
`VocabularyFileUri` in S3), parses it (emulator.service.vocabulary_tables), writes the
normalised table to the service bucket for `DownloadUri`, and ends READY, or FAILED with a
`FailureReason`. A vocabulary still PENDING when the process stops is processed again by
`resume_pending()` at the next start.

Shapes: botocore `CreateVocabularyResponse`, `GetVocabularyResponse`,
`ListVocabulariesResponse` (`VocabularyInfo`), `UpdateVocabularyResponse`. Wording: digest
§1.3 and §3.7 (moto and real-AWS client code agree on the not-found and conflict messages).
A missing vocabulary (Get, Update, Delete; medical too) answers BadRequestException, although
the model declares NotFoundException: AWS's own .NET integration tests assert
BadRequestException, as moto does (FIELD_NOTES "AWS API facts"; digest §1.3).
Known deviations from AWS: Update and Delete are accepted while a vocabulary is PENDING (the
newest request wins); no per-language character-set check; DataAccessRoleArn is not assumed.
"""

from __future__ import annotations

from typing import Callable

from emulator.aws.errors import BadRequestException
from emulator.service import s3_uri
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.pagination import PRESIGNED_URL_LIFETIME
from emulator.service.resources import ProcessedResources, copy_members, given_members, new_revision, pick
from emulator.service.state_log import resource_changed
from emulator.service.tags import validate_new_tags
from emulator.service.vocabulary_tables import (
    MAX_FILE_BYTES,
    TOO_LARGE,
    Vocabulary,
    VocabularyTableError,
    check_list_size,
    parse_phrases,
    parse_table,
)
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError, StorageUnavailable, patiently
from emulator.storage.store import Record, Store

KIND = "vocabulary"

VOCABULARY_NOT_FOUND = (
    "The requested vocabulary couldn't be found. Check the vocabulary name and try your request again."
)
VOCABULARY_EXISTS = "The requested vocabulary name already exists. Use a different vocabulary name."
EITHER_SOURCE = "Either Phrases or VocabularyFileUri field should be provided."
# The same wording as a job's media URI (emulator.service.jobs / pipeline).
NOT_AN_S3_URI = (
    "The URI that you provided doesn't point to an S3 object. "
    "Make sure that the object exists and try your request again."
)
CANNOT_ACCESS = (
    "The S3 URI that you provided can't be accessed. "
    "Make sure that you have read permission and try your request again."
)
CANNOT_STORE = "The vocabulary couldn't be stored in the service bucket. Try your request again."
S3_UNAVAILABLE = (
    "Internal failure: {cause}; still failing after 60 seconds of retries. "
    "Check that the emulator's S3 server runs, then update the vocabulary again."
)
NOT_READY = (
    "The requested vocabulary {name} isn't ready: its state is {status}. "
    "Wait until the vocabulary state is READY, then try your request again."
)
LANGUAGE_MISMATCH = (
    "The language code of the vocabulary {name} ({theirs}) doesn't match the language code of "
    "the transcription job ({job}). Use a vocabulary with the job's language code and try your request again."
)


class Vocabularies(ProcessedResources):
    """The five vocabulary operations over the store and S3, with their own processing threads."""

    kind = KIND  # the Store kind of the records (emulator.service.medical_vocabularies subclasses this)
    not_found = BadRequestException  # what AWS answers, not the model's NotFoundException (module docstring)
    NOT_FOUND = VOCABULARY_NOT_FOUND
    EXISTS = VOCABULARY_EXISTS
    status_filter = "StateEquals"
    newest_by = "LastModifiedTime"
    pending = "PENDING"
    status_member = "VocabularyState"
    download_folder = "vocabularies"  # where DownloadUri tables live in the service bucket
    # Names the operations and botocore shapes: Create{noun}, Get{noun}Response, List{plural}, ...
    noun = "Vocabulary"
    summary_shape = "VocabularyInfo"  # both List outputs list VocabularyInfo

    def __init__(
        self,
        store: Store,
        objects: ObjectStore,
        clock: Callable[[], float] = aws_now,
        workers: int = 2,
    ):
        super().__init__(store, clock, workers, name="vocabulary-worker")
        self.objects = objects

    @property
    def list_shape(self) -> str:
        return f"List{self._plural}Response"

    @property
    def _plural(self) -> str:
        return self.noun.removesuffix("y") + "ies"

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        """AWS operation name -> method(ctx, params)."""
        return {
            f"Create{self.noun}": self.create_vocabulary,
            f"Get{self.noun}": self.get_vocabulary,
            f"List{self._plural}": self.list_vocabularies,
            f"Update{self.noun}": self.update_vocabulary,
            f"Delete{self.noun}": self.delete_vocabulary,
        }

    @property
    def _get(self) -> str:
        return f"Get{self.noun}Response"

    def _check(self, params: dict) -> None:
        """The family's own rules for Create and Update, checked first (medical: en-US only)."""

    # --- CreateVocabulary ---------------------------------------------------------------

    def create_vocabulary(self, ctx: RequestContext, params: dict) -> dict:
        """-> CreateVocabularyResponse, state PENDING. BadRequestException (source, phrases),
        ConflictException (name taken)."""
        self._check(params)
        validate_new_tags(params.get("Tags", []))
        source = self._source(params)
        now = self.clock()
        doc = {
            "VocabularyName": params["VocabularyName"],
            "LanguageCode": params["LanguageCode"],
            "VocabularyState": "PENDING",
            "LastModifiedTime": now,
        }
        copy_members(doc, params, (*given_members(f"Create{self.noun}Request", self._get), "Tags"))
        internal = {"AccountId": ctx.account_id, "Source": source, "Revision": new_revision()}
        record = Record(self.kind, ctx.region, doc["VocabularyName"], "PENDING", now, doc, internal)
        self._insert(record)
        resource_changed(self.kind, ctx.region, record.name, None, "PENDING")
        self._submit(record)
        return pick(doc, f"Create{self.noun}Response")

    def _source(self, params: dict) -> dict:
        """What to process: {"Phrases": [...]} (checked now) or {"VocabularyFileUri": uri}."""
        phrases, uri = params.get("Phrases"), params.get("VocabularyFileUri")
        if (phrases is None) == (uri is None):
            raise BadRequestException(EITHER_SOURCE)
        if phrases is not None:
            try:
                check_list_size(phrases, "vocabulary", "Phrases")
                parse_phrases(phrases)
            except VocabularyTableError as e:
                raise BadRequestException(e.reason) from None
            return {"Phrases": list(phrases)}
        if self._location(uri) is None:
            raise BadRequestException(NOT_AN_S3_URI)
        return {"VocabularyFileUri": uri}

    def _location(self, uri: str) -> tuple[str, str] | None:
        return s3_uri.parse_s3_uri(uri, (self.objects.endpoint, self.objects.public_endpoint))

    # --- GetVocabulary ------------------------------------------------------------------

    def get_vocabulary(self, ctx: RequestContext, params: dict) -> dict:
        """-> GetVocabularyResponse; DownloadUri (presigned, 15 minutes) once READY. BadRequestException
        (no such vocabulary)."""
        record = self._find(ctx.region, params["VocabularyName"])
        doc = dict(record.doc)
        download = record.internal.get("Download")
        if record.status == "READY" and download:
            doc["DownloadUri"] = self.objects.presigned_get(
                download["bucket"], download["key"], PRESIGNED_URL_LIFETIME
            )
        return pick(doc, self._get)

    # --- ListVocabularies ---------------------------------------------------------------

    def list_vocabularies(self, ctx: RequestContext, params: dict) -> dict:
        """-> ListVocabulariesResponse: newest LastModifiedTime first; StateEquals, NameContains
        (case-insensitive), MaxResults (default 5), NextToken. BadRequestException (bad token)."""
        return self._list(ctx.region, params, lambda r: pick(r.doc, self.summary_shape))

    # --- UpdateVocabulary ---------------------------------------------------------------

    def update_vocabulary(self, ctx: RequestContext, params: dict) -> dict:
        """-> UpdateVocabularyResponse, state PENDING again. BadRequestException (no such
        vocabulary, bad source)."""
        self._check(params)
        source = self._source(params)
        before = None

        def change(record: Record) -> None:
            nonlocal before
            before = record.status
            doc = record.doc
            doc.update(LanguageCode=params["LanguageCode"], VocabularyState="PENDING", LastModifiedTime=self.clock())
            doc.pop("FailureReason", None)
            copy_members(doc, params, given_members(f"Update{self.noun}Request", self._get))
            record.status = "PENDING"
            record.internal.update(Source=source, Revision=new_revision())
            record.internal.pop("Entries", None)

        with self._lock:
            record = self.store.modify(self.kind, ctx.region, params["VocabularyName"], change)
        if record is None:
            raise self.not_found(self.NOT_FOUND)
        resource_changed(self.kind, ctx.region, record.name, before, "PENDING")
        self._submit(record)
        return pick(record.doc, f"Update{self.noun}Response")

    # --- DeleteVocabulary ---------------------------------------------------------------

    def delete_vocabulary(self, ctx: RequestContext, params: dict) -> dict:
        """-> {}. BadRequestException (no such vocabulary)."""
        self._delete(ctx.region, params["VocabularyName"], self._delete_download)
        return {}

    def _delete_download(self, record: Record) -> None:
        delete_quietly(self.objects, record.internal.get("Download"))

    # --- for StartTranscriptionJob ------------------------------------------------------

    def terms_for_job(self, region: str, name: str, language_code: str) -> Vocabulary:
        """The READY vocabulary `name` for a job in `language_code`.

        Raises BadRequestException (AWS reports a job's bad VocabularyName that way) when it
        doesn't exist, isn't READY, or has another language code.
        """
        record = self._usable(region, name, language_code, LANGUAGE_MISMATCH, ready="READY", not_ready=NOT_READY)
        return Vocabulary.from_json(record.internal["Entries"])

    # --- processing ---------------------------------------------------------------------

    def resume_pending(self) -> int:
        """Processes again every vocabulary left PENDING by a stop; returns how many."""
        return self.resume()

    def _process(self, record: Record) -> None:
        try:
            vocabulary = self._load(record.internal["Source"])
        except VocabularyTableError as e:
            self._finish(record, failure=e.reason)
        except ObjectNotFound:
            self._finish(record, failure=NOT_AN_S3_URI)
        except StorageUnavailable as e:
            self._finish(record, failure=S3_UNAVAILABLE.format(cause=e))
        except StorageError:
            self._finish(record, failure=CANNOT_ACCESS)
        else:
            self._finish(record, vocabulary=vocabulary)

    def _load(self, source: dict) -> Vocabulary:
        if "Phrases" in source:
            return parse_phrases(source["Phrases"])
        location = self._location(source["VocabularyFileUri"])
        if location is None:  # checked at the request; a stored record may predate that
            raise ObjectNotFound(source["VocabularyFileUri"])
        what = f"reading {source['VocabularyFileUri']}"
        if patiently(lambda: self.objects.stat(*location), what=what).size > MAX_FILE_BYTES:
            raise VocabularyTableError(TOO_LARGE.format(what="vocabulary"))  # before reading it
        return parse_table(patiently(lambda: self.objects.get_bytes(*location), what=what))

    def _finish(self, record: Record, vocabulary: Vocabulary | None = None, failure: str | None = None) -> None:
        """Ends processing READY or FAILED, unless the vocabulary was updated or deleted meanwhile.

        Revisions change only under self._lock, so the check, the table upload and the write
        below see one revision.
        """
        region, name, revision = record.region, record.name, record.internal["Revision"]
        with self._lock:
            if self._current(region, name, revision) is None:
                return
            outcome: dict = {}
            if vocabulary is not None:
                bucket = s3_uri.service_bucket(region)
                key = f"{record.internal['AccountId']}/{self.download_folder}/{name}.txt"
                try:
                    # Under self._lock, so no Update waits behind an outage for long: the grace is short.
                    patiently(lambda: self.objects.ensure_bucket(bucket), grace=10, what=f"creating {bucket}")
                    patiently(
                        lambda: self.objects.put_bytes(bucket, key, vocabulary.to_table().encode(), "text/plain; charset=utf-8"),
                        grace=10, what=f"writing s3://{bucket}/{key}",
                    )
                except StorageError as e:
                    failure = CANNOT_STORE.replace(" bucket.", f" bucket ({e}).")
                else:
                    outcome = {"Entries": vocabulary.to_json(), "Download": {"bucket": bucket, "key": key}}
            if failure:
                self._settle(region, name, revision, "FAILED", failure, lambda r: r.internal.pop("Entries", None))
            else:
                self._settle(region, name, revision, "READY", apply=lambda r: r.internal.update(outcome))


def delete_quietly(objects: ObjectStore, location: dict | None) -> None:
    """Deletes a stored DownloadUri object; a missing one is fine."""
    if location:
        try:
            objects.delete(location["bucket"], location["key"])
        except (ObjectNotFound, StorageError):
            pass

