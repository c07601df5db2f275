"""One kernel for the AWS resources kept in the store: create with a conflict check, find or
AWS's not-found error, the checks a job makes of a resource it names, List with filters and
pagination, output members read from botocore's shapes, and background processing guarded by
revisions.

A resource family (vocabularies, vocabulary filters, language models, jobs) subclasses
`Resources` and sets its values; a family processed in the background (PENDING -> READY,
IN_PROGRESS -> COMPLETED) subclasses `ProcessedResources`. Each keeps only its own semantics.
Tags: `validate_new_tags` (emulator.service.tags) on create; TagResource and
ListTagsForResource find any family's record by its ARN, whose resource type is the `kind`.
"""

from __future__ import annotations

import functools
import threading
import uuid
from typing import Callable

from emulator.aws.errors import BadRequestException, ConflictException, NotFoundException
from emulator.aws.model import shape
from emulator.service.clock import aws_now
from emulator.service.pagination import paginate
from emulator.service.state_log import resource_changed
from emulator.service.worker import WorkerPool, current_lease
from emulator.storage.store import AlreadyExists, LeaseLost, Record, Store, wait_for_room


@functools.cache
def members(shape_name: str) -> tuple[str, ...]:
    """The member names of a botocore structure shape, in the model's order."""
    return tuple(shape(shape_name).members)


@functools.cache
def given_members(request: str, output: str) -> tuple[str, ...]:
    """The members of request shape `request` that output shape `output` shows as given, in the
    request's order (e.g. a vocabulary's DataAccessRoleArn)."""
    shown = set(members(output))
    return tuple(m for m in members(request) if m in shown)


def pick(doc: dict, shape_name: str) -> dict:
    """The members of output shape `shape_name` that `doc` has, in the model's order (absent
    ones are left out, not null)."""
    return {m: doc[m] for m in members(shape_name) if m in doc}


def copy_members(doc: dict, params: dict, names) -> None:
    """Copies the request members `names` that `params` has into `doc`."""
    doc.update((m, params[m]) for m in names if m in params)


def new_revision() -> str:
    """A fresh revision: every Create and Update gets one, and background work carries it."""
    return uuid.uuid4().hex


class Resources:
    """A family of AWS resources in the store.

    Values a family sets:
      kind: the Store kind and ARN resource type ("vocabulary");
      not_found / NOT_FOUND: the exception class and message for a name that doesn't exist
        (most families answer NotFoundException; jobs answer BadRequestException);
      EXISTS: the ConflictException message for a name already taken;
      list_shape: the List output shape ("ListVocabulariesResponse"); its list member holds the
        summaries, and a `Status` member echoes the status filter;
      status_filter / name_filter: the List request's filter members (None: no such filter);
      newest_by: the doc member List sorts by, newest first (None: the store's order, newest
        creation first).
    """

    kind: str
    not_found: type[Exception] = NotFoundException
    NOT_FOUND: str
    EXISTS: str
    list_shape: str
    status_filter: str | None = None
    name_filter: str = "NameContains"
    newest_by: str | None = None

    def __init__(self, store: Store, clock: Callable[[], float] = aws_now):
        self.store = store
        self.clock = clock
        # Serialises a family's multi-step writes (a check, an S3 copy, the row) with each other.
        self._lock = threading.Lock()

    # --- create and find ----------------------------------------------------------------

    def _insert(self, record: Record) -> None:
        """Stores a new record. ConflictException (EXISTS) when the name is taken."""
        try:
            self.store.insert(record)
        except AlreadyExists:
            raise ConflictException(self.EXISTS) from None

    def _check_free(self, region: str, name: str) -> None:
        """ConflictException (EXISTS) when the name is taken; for a create that must do work
        (an S3 copy) before its insert."""
        if self.store.get(self.kind, region, name) is not None:
            raise ConflictException(self.EXISTS)

    def _find(self, region: str, name: str) -> Record:
        """The record named `name`, or the family's not-found error."""
        record = self.store.get(self.kind, region, name)
        if record is None:
            raise self.not_found(self.NOT_FOUND)
        return record

    def _usable(
        self, region: str, name: str, language_code: str, mismatch: str, ready: str | None = None, not_ready: str = ""
    ) -> Record:
        """The record `name` as a job in `language_code` may use it.

        BadRequestException (how AWS reports a job's bad settings): NOT_FOUND when it doesn't
        exist; `not_ready` (formatted with name, status) when its status isn't `ready`;
        `mismatch` (formatted with name, theirs, job) when its LanguageCode differs.
        """
        record = self.store.get(self.kind, region, name)
        if record is None:
            raise BadRequestException(self.NOT_FOUND)
        if ready is not None and record.status != ready:
            raise BadRequestException(not_ready.format(name=name, status=record.status))
        if record.doc["LanguageCode"] != language_code:
            raise BadRequestException(mismatch.format(name=name, theirs=record.doc["LanguageCode"], job=language_code))
        return record

    def _delete(self, region: str, name: str, then: Callable[[Record], None] | None = None) -> Record:
        """Deletes the record `name` (the family's not-found error when there is none), runs
        `then(record)` (say, to delete its S3 copy) under the same lock, and logs the change."""
        with self._lock:
            record = self._find(region, name)
            if not self.store.delete(self.kind, region, record.name):
                raise self.not_found(self.NOT_FOUND)  # deleted by another process meanwhile
            if then:
                then(record)
        resource_changed(self.kind, region, record.name, record.status, None)
        return record

    # --- List ---------------------------------------------------------------------------

    def _list(self, region: str, params: dict, summary: Callable[[Record], dict]) -> dict:
        """The List response: the filters, then one page (emulator.service.pagination) of
        `summary(record)`. BadRequestException for a NextToken this emulator did not issue."""
        status = params.get(self.status_filter) if self.status_filter else None
        records = self.store.list(self.kind, region, status, params.get(self.name_filter))
        if self.newest_by:
            records.sort(key=lambda r: (r.doc[self.newest_by], r.name), reverse=True)
        page, next_token = paginate(records, params)
        items = next(m for m, s in shape(self.list_shape).members.items() if s.type_name == "list")
        response = {"Status": status, "NextToken": next_token, items: [summary(r) for r in page]}
        return pick({k: v for k, v in response.items() if v is not None}, self.list_shape)


class ProcessedResources(Resources):
    """A family whose Create (and Update) answer at once and whose work runs on its own daemon
    threads, keyed by (region, name, revision): work for a revision that an Update or a Delete
    has since replaced is dropped, and its outcome is never written over a newer revision.

    pending: the status while the work runs ("PENDING"); status_member: the doc member that
    shows the status ("VocabularyState"); label: the resource as log lines name it (its kind
    when None).
    Subclasses implement `_process(record)` and end it with `_settle`.
    """

    pending: str
    status_member: str
    label: str | None = None

    def __init__(self, store: Store, clock: Callable[[], float] = aws_now, workers: int = 1, name: str = "worker"):
        super().__init__(store, clock)
        # self._lock serialises "is this still the revision I processed?" with the writes that follow it.
        self._pool = WorkerPool(workers, self._run, name=name)

    def process_elsewhere(self) -> None:
        """On an API-only node (`serve --workers 0`): nothing is processed here; the record
        stays `pending` in the store until a worker process claims it (process_claimed)."""
        self._pool = WorkerPool(0, self._run)

    def process_claimed(self, record: Record) -> None:
        """A worker process's run of a claimed `pending` record (emulator.service.worker
        ClaimWorker); `_settle` writes its outcome only while the revision is the one claimed."""
        self._run((record.region, record.name, record.internal["Revision"]))

    def resume(self) -> int:
        """Processes again every record left `pending` by a stop; returns how many."""
        records = self.store.with_status(self.kind, (self.pending,))
        for record in records:
            self._submit(record)
        return len(records)

    def _submit(self, record: Record) -> None:
        self._pool.reserve()
        self._pool.submit((record.region, record.name, record.internal["Revision"]))

    def _current(self, region: str, name: str, revision: str) -> Record | None:
        """The record if it still has `revision`; None when deleted or updated since."""
        record = self.store.get(self.kind, region, name)
        if record is None or record.internal.get("Revision") != revision:
            return None
        return record

    def _run(self, key: tuple[str, str, str]) -> None:
        record = self._current(*key)
        if record is not None:  # else the newer request has its own turn
            self._process(record)

    def _process(self, record: Record) -> None:
        raise NotImplementedError

    def _settle(
        self,
        region: str,
        name: str,
        revision: str,
        status: str,
        failure: str | None = None,
        apply: Callable[[Record], None] | None = None,
    ) -> bool:
        """Ends the work in `status` (with FailureReason `failure`), `apply` changing the record
        further, unless the record no longer has `revision`; returns whether it was written.
        Store.modify keeps a concurrent TagResource; a full disk is waited out."""
        changed = False

        def change(record: Record) -> None:
            nonlocal changed
            if record.internal.get("Revision") != revision:
                return
            changed = True
            record.status = record.doc[self.status_member] = status
            if failure:
                record.doc["FailureReason"] = failure
            if apply:
                apply(record)

        lease = current_lease()  # a worker process's claim: the outcome is written only while it holds
        try:
            wait_for_room(
                lambda: self.store.modify(self.kind, region, name, change, lease_owner=lease),
                f"{self.label or self.kind} {name}",
            )
        except LeaseLost:  # another worker took it over; its outcome is the one written
            return False
        if changed:
            resource_changed(self.kind, region, name, self.pending, status, failure)
        return changed
