"""Vocabulary filters: CreateVocabularyFilter, GetVocabularyFilter, ListVocabularyFilters,
UpdateVocabularyFilter, DeleteVocabularyFilter, with Amazon Transcribe's error wording.

A filter has no state machine (digest §3.8): it is usable as soon as Create or Update
answers, so a `VocabularyFilterFileUri` is read and parsed within the call and its problems
are BadRequestExceptions. The word list is kept in the store and written to the service
bucket for `DownloadUri`.

Shapes: botocore `CreateVocabularyFilterResponse`, `GetVocabularyFilterResponse`,
`ListVocabularyFiltersResponse` (`VocabularyFilterInfo`), `UpdateVocabularyFilterResponse`.
Wording: analogous to vocabularies (digest §1.3; moto uses the same sentences).
"""

from __future__ import annotations

import uuid
from typing import Callable

from emulator.aws.errors import BadRequestException, InternalFailureException
from emulator.service import s3_uri
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.pagination import PRESIGNED_URL_LIFETIME
from emulator.service.resources import Resources, copy_members, given_members, pick
from emulator.service.state_log import resource_changed
from emulator.service.tags import validate_new_tags
from emulator.service.vocabularies import CANNOT_ACCESS, NOT_AN_S3_URI, delete_quietly
from emulator.service.vocabulary_tables import (
    MAX_FILE_BYTES,
    TOO_LARGE,
    VocabularyTableError,
    check_list_size,
    filter_file_text,
    normalise_filter_words,
    parse_filter_file,
)
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError, StorageUnavailable
from emulator.storage.store import Record, Store

KIND = "vocabulary-filter"
STATUS = "READY"  # the store wants a status; filters have none on the API

FILTER_NOT_FOUND = (
    "The requested vocabulary filter couldn't be found. "
    "Check the vocabulary filter name and try your request again."
)
FILTER_EXISTS = "The requested vocabulary filter name already exists. Use a different vocabulary filter name."
EITHER_SOURCE = "Either Words or VocabularyFilterFileUri field should be provided."
CANNOT_STORE = (
    "Internal failure: the vocabulary filter couldn't be stored in the service bucket ({cause}). "
    "Nothing was created or changed; try your request again."
)
CANNOT_READ = (
    "Internal failure: the vocabulary filter file couldn't be read ({cause}). "
    "Nothing was created or changed; try your request again."
)
LANGUAGE_MISMATCH = (
    "The language code of the vocabulary filter {name} ({theirs}) doesn't match the language code of the "
    "transcription job ({job}). Use a vocabulary filter with the job's language code and try your request again."
)

_GET = "GetVocabularyFilterResponse"  # its members are what a filter shows as given


class VocabularyFilters(Resources):
    """The five vocabulary filter operations over the store and S3."""

    kind = KIND
    NOT_FOUND = FILTER_NOT_FOUND
    EXISTS = FILTER_EXISTS
    list_shape = "ListVocabularyFiltersResponse"
    newest_by = "LastModifiedTime"

    def __init__(self, store: Store, objects: ObjectStore, clock: Callable[[], float] = aws_now):
        super().__init__(store, clock)
        self.objects = objects

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        """AWS operation name -> method(ctx, params)."""
        return {
            "CreateVocabularyFilter": self.create_vocabulary_filter,
            "GetVocabularyFilter": self.get_vocabulary_filter,
            "ListVocabularyFilters": self.list_vocabulary_filters,
            "UpdateVocabularyFilter": self.update_vocabulary_filter,
            "DeleteVocabularyFilter": self.delete_vocabulary_filter,
        }

    # --- CreateVocabularyFilter ---------------------------------------------------------

    def create_vocabulary_filter(self, ctx: RequestContext, params: dict) -> dict:
        """-> CreateVocabularyFilterResponse. BadRequestException (source, words, file),
        ConflictException (name taken), InternalFailureException (service bucket unwritable)."""
        validate_new_tags(params.get("Tags", []))
        name = params["VocabularyFilterName"]
        self._check_free(ctx.region, name)
        words = self._words(params)
        now = self.clock()
        doc = {"VocabularyFilterName": name, "LanguageCode": params["LanguageCode"], "LastModifiedTime": now}
        copy_members(doc, params, (*given_members("CreateVocabularyFilterRequest", _GET), "Tags"))
        download = {
            "bucket": s3_uri.service_bucket(ctx.region),
            "key": f"{ctx.account_id}/vocabulary-filters/{name}.txt",
        }
        internal = {"AccountId": ctx.account_id, "Words": words, "Download": download}
        # The S3 copy first, the row last: the row is what makes the filter exist, so a failure
        # of either leaves nothing behind and the same request can simply be sent again.
        with self._lock:
            self._check_free(ctx.region, name)
            self._store_words(download, words)
            try:  # Conflict here: created by another process on the same data dir
                self._insert(Record(KIND, ctx.region, name, STATUS, now, doc, internal))
            except BaseException:
                delete_quietly(self.objects, download)
                raise
        resource_changed(KIND, ctx.region, name, None, STATUS)
        return pick(doc, "CreateVocabularyFilterResponse")

    def _words(self, params: dict) -> list[str]:
        """The filter's words from `Words` or the file at `VocabularyFilterFileUri`, at most
        MAX_FILE_BYTES (50 KB) either way, checked before parsing. BadRequestException."""
        words, uri = params.get("Words"), params.get("VocabularyFilterFileUri")
        if (words is None) == (uri is None):
            raise BadRequestException(EITHER_SOURCE)
        try:
            if words is not None:
                check_list_size(words, "vocabulary filter", "Words")
                return normalise_filter_words(words)
            location = s3_uri.parse_s3_uri(uri, (self.objects.endpoint, self.objects.public_endpoint))
            if location is None:
                raise BadRequestException(NOT_AN_S3_URI)
            if self.objects.stat(*location).size > MAX_FILE_BYTES:
                raise BadRequestException(TOO_LARGE.format(what="vocabulary filter"))
            return parse_filter_file(self.objects.get_bytes(*location))
        except VocabularyTableError as e:
            raise BadRequestException(e.reason) from None
        except ObjectNotFound:
            raise BadRequestException(NOT_AN_S3_URI) from None
        except StorageUnavailable as e:
            raise InternalFailureException(CANNOT_READ.format(cause=e)) from None
        except StorageError:
            raise BadRequestException(CANNOT_ACCESS) from None

    def _store_words(self, download: dict, words: list[str]) -> None:
        """Writes the DownloadUri copy. InternalFailureException naming the S3 problem."""
        try:
            self.objects.ensure_bucket(download["bucket"])
            self.objects.put_bytes(
                download["bucket"], download["key"], filter_file_text(words).encode(), "text/plain; charset=utf-8"
            )
        except (ObjectNotFound, StorageError) as e:
            raise InternalFailureException(CANNOT_STORE.format(cause=e)) from None

    # --- GetVocabularyFilter ------------------------------------------------------------

    def get_vocabulary_filter(self, ctx: RequestContext, params: dict) -> dict:
        """-> GetVocabularyFilterResponse with DownloadUri (presigned, 15 minutes). NotFoundException."""
        record = self._find(ctx.region, params["VocabularyFilterName"])
        download = record.internal["Download"]
        doc = dict(record.doc)
        doc["DownloadUri"] = self.objects.presigned_get(download["bucket"], download["key"], PRESIGNED_URL_LIFETIME)
        return pick(doc, _GET)

    # --- ListVocabularyFilters ----------------------------------------------------------

    def list_vocabulary_filters(self, ctx: RequestContext, params: dict) -> dict:
        """-> ListVocabularyFiltersResponse: newest LastModifiedTime first; NameContains
        (case-insensitive), MaxResults (default 5), NextToken. BadRequestException (bad token)."""
        return self._list(ctx.region, params, lambda r: pick(r.doc, "VocabularyFilterInfo"))

    # --- UpdateVocabularyFilter ---------------------------------------------------------

    def update_vocabulary_filter(self, ctx: RequestContext, params: dict) -> dict:
        """-> UpdateVocabularyFilterResponse (no LanguageCode in the request: it keeps its own).
        NotFoundException, BadRequestException, InternalFailureException."""
        name = params["VocabularyFilterName"]
        self._find(ctx.region, name)
        words = self._words(params)

        def change_words(record: Record) -> None:
            record.doc["LastModifiedTime"] = self.clock()
            copy_members(record.doc, params, given_members("UpdateVocabularyFilterRequest", _GET))
            record.internal["Words"] = words

        # The new copy goes to a new key, and the row then points at it: a failure of either
        # step leaves the filter as it was (the old words, the old DownloadUri).
        with self._lock:
            current = self._find(ctx.region, name)
            old_download = current.internal["Download"]
            download = {**old_download, "key": f"{ctx.account_id}/vocabulary-filters/{name}-{uuid.uuid4().hex[:12]}.txt"}
            self._store_words(download, words)

            def change(record: Record) -> None:
                change_words(record)
                record.internal["Download"] = download

            try:
                record = self.store.modify(KIND, ctx.region, name, change)
            except BaseException:
                delete_quietly(self.objects, download)
                raise
            if record is None:
                delete_quietly(self.objects, download)
                raise self.not_found(self.NOT_FOUND)
            if old_download != download:
                delete_quietly(self.objects, old_download)
        return pick(record.doc, "UpdateVocabularyFilterResponse")

    # --- DeleteVocabularyFilter ---------------------------------------------------------

    def delete_vocabulary_filter(self, ctx: RequestContext, params: dict) -> dict:
        """-> {}. NotFoundException."""
        self._delete(ctx.region, params["VocabularyFilterName"], self._delete_download)
        return {}

    def _delete_download(self, record: Record) -> None:
        delete_quietly(self.objects, record.internal["Download"])

    # --- for StartTranscriptionJob ------------------------------------------------------

    def words_for_job(self, region: str, name: str, language_code: str) -> list[str]:
        """The words of filter `name` for a job in `language_code`.

        Raises BadRequestException when it doesn't exist or has another language code.
        """
        return list(self._usable(region, name, language_code, LANGUAGE_MISMATCH).internal["Words"])
