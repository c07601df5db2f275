"""Durable state: one row per resource (job, vocabulary, ...), JSON documents inside, in
SQLite (the default: one file under the data dir) or PostgreSQL (--database-url), both through
SQLAlchemy Core with one schema (emulator.storage.database, migrated with Alembic).

Each write is its own committed transaction; SQLite runs in WAL mode with synchronous=FULL, so
a `kill -9` at any moment loses nothing that an API call has answered for.

When the database cannot read or write (SQLITE_FULL on a full disk, an I/O error, PostgreSQL
down or restarting) every method raises StoreUnavailable, an InternalFailureException whose
message names the database and the cause, and the transaction is rolled back: nothing is
half-written. A row whose JSON is damaged is left out of lists and resumes with a warning
naming it (kind, region, name).

Claims (several worker processes on one database): `claim` picks the oldest claimable row with
SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE
instead), gives it a lease (lease_owner, lease_expires) and bumps its revision; `renew`
extends the lease while the work runs; `modify(..., lease_owner=token)` moves the state only
while the token still holds the row, as a compare-and-set on the revision read.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import and_, delete
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, or_, select, update

from emulator.aws.errors import InternalFailureException
from emulator.storage.database import (
    COLUMNS,
    create_store_engine,
    is_sqlite,
    migrate,
    resources,
    safe_url,
    sqlite_url,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Background writes (a job's IN_PROGRESS and outcome, a vocabulary's or model's result) wait
# out a full disk with these pauses (the last repeats), so work ends with its real outcome
# as soon as there is room again, never stuck until a restart.
WAIT_FOR_ROOM = (1.0, 2.0, 5.0)  # seconds

# Below this many free bytes in the data dir the store probe reports the disk as full: SQLite
# (WAL frames, checkpoints) and the embedded S3 both need some room to write at all.
MIN_FREE_BYTES = 1024 * 1024


class AlreadyExists(Exception):
    pass


class StoreError(Exception):
    """The database file cannot be used: corrupt, or not this emulator's (message names it)."""


class StoreUnavailable(InternalFailureException):
    """The database failed a read or write (SQLite: disk full, I/O error, locked for over 30 s;
    PostgreSQL: unreachable, restarting, a statement over 30 s). The API answers it as
    InternalFailureException (HTTP 500) with this message."""


class CorruptRecord(Exception):
    """A row whose `doc` or `internal` is not valid JSON; the message names the row."""


_COLUMNS = COLUMNS[:7]  # the columns of revision 0001; 0002 adds the claim columns after them


class LeaseLost(Exception):
    """The worker's claim on a row ended (its lease expired and another worker claimed the row,
    or the row moved on): its state move is not written. The message names the row."""


def check_database(path: Path) -> None:
    """Opens an existing database file read-only and checks that it is this emulator's and
    intact (`PRAGMA quick_check`). A missing file is fine (it will be created). Raises
    StoreError with one sentence that names the file and what to do."""
    if not path.exists():
        return
    advice = f"move {path} away (or pass another --data-dir) and start again"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as e:
        raise StoreError(f"cannot open the job store {path}: {e}; {advice}") from None
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        foreign = tables - {"resources", "alembic_version"} - {t for t in tables if t.startswith("sqlite_")}
        if foreign:
            raise StoreError(
                f"{path} is not a transcribe-emulator job store (it has tables {sorted(foreign)}); {advice}"
            )
        if "resources" in tables:
            columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(resources)"))
            if columns not in (_COLUMNS, COLUMNS):
                raise StoreError(f"{path} is not a transcribe-emulator job store (columns {columns}); {advice}")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreError(f"the job store {path} is corrupt ({problems[0]}); {advice}")
    except sqlite3.DatabaseError as e:  # "file is not a database", "database disk image is malformed"
        raise StoreError(f"the job store {path} is corrupt or not SQLite ({e}); {advice}") from None
    finally:
        conn.close()


def check_server(url: str) -> None:
    """Connects to the database server at `url` once. StoreError naming it (without its
    password) and the cause: unreachable, refused, unknown database, bad scheme."""
    try:
        engine = create_store_engine(url)
    except sa_exc.ArgumentError:
        raise StoreError(
            "--database-url is not a database URL: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        ) from None
    except ValueError as e:  # another scheme
        raise StoreError(f"{e} (--database-url)") from None
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa_exc.DBAPIError as e:
        cause = str(e.orig).strip().splitlines()[0] if str(e.orig).strip() else type(e.orig).__name__
        raise StoreError(f"cannot reach the job store {safe_url(url)}: {cause}; start it or fix --database-url") from None
    finally:
        engine.dispose()


@dataclass
class Record:
    kind: str
    region: str
    name: str
    status: str
    creation_time: float
    doc: dict
    internal: dict
    # The claim columns (revision 0002): the store sets them; writers never need to.
    revision: int = 0
    lease_owner: str | None = None
    lease_expires: float | None = None


def _key(kind: str, region: str, name: str):
    c = resources.c
    return and_(c.kind == kind, c.region == region, c.name == name)


class Store:
    """Thread-safe: SQLAlchemy's pool hands each call its own connection.

    Store(path) opens the SQLite file `path` (the embedded default); Store(url=...) opens any
    database URL (emulator.storage.database). Either is migrated to the newest schema first."""

    def __init__(self, path: Path | None = None, url: str | None = None):
        if url is None or is_sqlite(url):
            if path is None:
                path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            url = sqlite_url(path)
        self.path = path  # the SQLite file; None on PostgreSQL
        self.url = url
        self.where = str(path) if path is not None else safe_url(url)  # the database, as messages name it
        self._write_failure: str | None = None  # the last write's error until a write succeeds
        self.engine = create_store_engine(url)
        self.sqlite = self.engine.dialect.name == "sqlite"
        with self._guard(write=True):
            migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _guard(self, write: bool) -> Iterator[None]:
        """Turns the database's errors into StoreUnavailable and remembers whether the last
        write failed (for the health probe)."""
        try:
            yield
        except sa_exc.IntegrityError:
            raise
        except (sa_exc.DBAPIError, sa_exc.TimeoutError, sqlite3.Error) as e:
            cause = e.orig if isinstance(e, sa_exc.DBAPIError) else e
            cause = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            action = "written" if write else "read"
            why = f"the job store {self.where} can't be {action}: {cause}"
            if write:
                self._write_failure = cause
            log.error("%s", why)
            advice = "Free disk space (or fix the file)" if self.sqlite else "Check that the database is reachable"
            raise StoreUnavailable(f"Internal failure: {why}. {advice} and try your request again.") from None
        else:
            if write:
                self._write_failure = None

    @contextmanager
    def _read(self):
        with self.engine.connect().execution_options(store_read=True) as conn:
            yield conn

    def ping(self) -> None:
        """Health probe: a read of the resources table; for SQLite the free space of the data
        dir (at least MIN_FREE_BYTES), and after a failed write an empty write transaction that
        must commit. Raises sqlite3.Error, OSError or SQLAlchemy's errors with the reason; costs
        well under 1 ms on SQLite."""
        with self._read() as conn:
            conn.execute(select(resources.c.kind).limit(1)).fetchall()
        if not self.sqlite:
            return
        stats = os.statvfs(self.path.parent)
        free = stats.f_bavail * stats.f_frsize
        if free < MIN_FREE_BYTES:
            raise OSError(f"disk full: {free} bytes free in {self.path.parent}")
        if self._write_failure is not None:
            try:
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(
                        "UPDATE resources SET status = status WHERE rowid = (SELECT min(rowid) FROM resources)"
                    )
            except sa_exc.DBAPIError as e:
                raise sqlite3.OperationalError(f"the last write failed and still fails: {e.orig}") from None
            self._write_failure = None

    @staticmethod
    def _record(row) -> Record:
        kind, region, name, status, creation_time, doc, internal, revision, lease_owner, lease_expires = row
        try:
            return Record(
                kind, region, name, status, creation_time, json.loads(doc), json.loads(internal),
                revision, lease_owner, lease_expires,
            )
        except (TypeError, ValueError) as e:
            raise CorruptRecord(f"{kind} {name!r} in region {region}: damaged JSON ({e})") from None

    def _records(self, rows) -> list[Record]:
        """The rows as Records; a damaged row is left out with a warning naming it."""
        records = []
        for row in rows:
            try:
                records.append(self._record(row))
            except CorruptRecord as e:
                log.warning("skipping a damaged row of the job store %s: %s", self.where, e)
        return records

    def insert(self, record: Record) -> None:
        """Raises AlreadyExists when (kind, region, name) is taken, StoreUnavailable."""
        try:
            with self._guard(write=True), self.engine.begin() as conn:
                conn.execute(
                    insert(resources).values(
                        kind=record.kind,
                        region=record.region,
                        name=record.name,
                        status=record.status,
                        creation_time=record.creation_time,
                        doc=json.dumps(record.doc),
                        internal=json.dumps(record.internal),
                    )
                )
        except sa_exc.IntegrityError as e:
            raise AlreadyExists(record.name) from e

    def get(self, kind: str, region: str, name: str) -> Record | None:
        """Raises StoreUnavailable (also for a damaged row: its message names the row)."""
        with self._guard(write=False), self._read() as conn:
            row = conn.execute(select(resources).where(_key(kind, region, name))).fetchone()
        if row is None:
            return None
        try:
            return self._record(row)
        except CorruptRecord as e:
            raise StoreUnavailable(f"Internal failure: the job store {self.where} has a damaged row: {e}.") from None

    def update(self, record: Record) -> bool:
        """Writes status, doc and internal; False if the row was deleted meanwhile. StoreUnavailable."""
        with self._guard(write=True), self.engine.begin() as conn:
            cur = conn.execute(
                update(resources)
                .where(_key(record.kind, record.region, record.name))
                .values(status=record.status, doc=json.dumps(record.doc), internal=json.dumps(record.internal))
            )
        return cur.rowcount == 1

    def modify(
        self,
        kind: str,
        region: str,
        name: str,
        change: Callable[[Record], None],
        lease_owner: str | None = None,
    ) -> Record | None:
        """Atomic read-modify-write: `change` edits the record in place inside one write
        transaction (the row locked: BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on
        PostgreSQL), so concurrent writers (a worker finishing a job, a TagResource call)
        never undo each other. A status move bumps the row's revision and ends its lease;
        the write is a compare-and-set on the revision read.
        lease_owner: the caller's claim token; when the row's lease is no longer that token
        nothing is written and LeaseLost is raised.
        Returns the new record, None if it does not exist. Exceptions from `change` roll back
        and propagate; database failures roll back and raise StoreUnavailable (SQLite may have
        rolled back itself, e.g. on SQLITE_FULL)."""
        with self._guard(write=True), self.engine.begin() as conn:
            row = conn.execute(select(resources).where(_key(kind, region, name)).with_for_update()).fetchone()
            if row is None:
                return None
            record = self._record(row)
            if lease_owner is not None and record.lease_owner != lease_owner:
                raise LeaseLost(f"{kind} {name!r} in region {region} is no longer claimed by {lease_owner}")
            before = record.status
            change(record)
            values = dict(status=record.status, doc=json.dumps(record.doc), internal=json.dumps(record.internal))
            if record.status != before:
                record.revision += 1
                record.lease_owner = record.lease_expires = None
                values.update(revision=record.revision, lease_owner=None, lease_expires=None)
            cur = conn.execute(
                update(resources).where(_key(kind, region, name), resources.c.revision == row.revision).values(**values)
            )
            if cur.rowcount != 1:  # cannot happen while the row is locked; a guard, not a path
                raise LeaseLost(f"{kind} {name!r} in region {region} changed under its lock")
            return record

    def claim(
        self,
        kinds: tuple[str, ...],
        owner: str,
        lease_seconds: float,
        queued: tuple[str, ...] = (),
        running: tuple[str, ...] = (),
        change: Callable[[Record], None] | None = None,
        now: float | None = None,
    ) -> Record | None:
        """Claims the oldest row of `kinds` that is waiting: its status in `queued`, or in
        `running` with no live lease (never leased, or lease_expires past: its worker died).
        The row gets lease_owner=`owner` (a token unique to this claim), a lease of
        `lease_seconds`, revision + 1, and `change(record)` (say, QUEUED -> IN_PROGRESS).
        PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so concurrent claimers never wait on
        or take the same row. Returns the claimed record, None when nothing waits.
        StoreUnavailable."""
        now = time.time() if now is None else now
        c = resources.c
        waiting = []
        if queued:
            waiting.append(c.status.in_(queued))
        if running:
            waiting.append(and_(c.status.in_(running), or_(c.lease_expires.is_(None), c.lease_expires < now)))
        query = (
            select(resources)
            .where(c.kind.in_(kinds), or_(*waiting))
            .order_by(c.creation_time, c.name)
            .with_for_update(skip_locked=True)
        )
        with self._guard(write=True), self.engine.begin() as conn:
            for row in conn.execute(query.limit(8)).fetchall():  # the first undamaged one
                try:
                    record = self._record(row)
                except CorruptRecord as e:
                    log.warning("not claiming a damaged row of the job store %s: %s", self.where, e)
                    continue
                if change:
                    change(record)
                record.revision = row.revision + 1
                record.lease_owner, record.lease_expires = owner, now + lease_seconds
                conn.execute(
                    update(resources)
                    .where(_key(record.kind, record.region, record.name), c.revision == row.revision)
                    .values(
                        status=record.status,
                        doc=json.dumps(record.doc),
                        internal=json.dumps(record.internal),
                        revision=record.revision,
                        lease_owner=owner,
                        lease_expires=record.lease_expires,
                    )
                )
                return record
        return None

    def renew(self, kind: str, region: str, name: str, owner: str, lease_seconds: float) -> bool:
        """Extends `owner`'s lease on the row to now + lease_seconds; False when the lease is
        no longer `owner`'s (expired and claimed by another worker, or the row moved on or was
        deleted). StoreUnavailable."""
        with self._guard(write=True), self.engine.begin() as conn:
            cur = conn.execute(
                update(resources)
                .where(_key(kind, region, name), resources.c.lease_owner == owner)
                .values(lease_expires=time.time() + lease_seconds)
            )
        return cur.rowcount == 1

    def release(self, kind: str, region: str, name: str, owner: str) -> bool:
        """Ends `owner`'s lease at once (the work ended without moving the row on: given back,
        or a newer revision is waiting), so the row is claimable now rather than when the
        lease would have lapsed. False when the lease is not `owner`'s. StoreUnavailable."""
        with self._guard(write=True), self.engine.begin() as conn:
            cur = conn.execute(
                update(resources)
                .where(_key(kind, region, name), resources.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires=None)
            )
        return cur.rowcount == 1

    def delete(self, kind: str, region: str, name: str) -> bool:
        """True if a row was deleted. StoreUnavailable."""
        with self._guard(write=True), self.engine.begin() as conn:
            cur = conn.execute(delete(resources).where(_key(kind, region, name)))
        return cur.rowcount == 1

    def list(self, kind: str, region: str, status: str | None = None, name_contains: str | None = None) -> list[Record]:
        """Newest first. name_contains matches case-insensitively. Damaged rows are left out
        (a warning names each). StoreUnavailable."""
        c = resources.c
        query = select(resources).where(c.kind == kind, c.region == region)
        if status:
            query = query.where(c.status == status)
        if name_contains:
            query = query.where(func.instr(func.lower(c.name), func.lower(name_contains)) > 0
                                if self.sqlite else func.strpos(func.lower(c.name), func.lower(name_contains)) > 0)
        query = query.order_by(c.creation_time.desc(), c.name.desc())
        with self._guard(write=False), self._read() as conn:
            return self._records(conn.execute(query).fetchall())

    def with_status(self, kind: str, statuses: tuple[str, ...]) -> list[Record]:
        """Every region, oldest first (the order to resume work in); damaged rows left out."""
        c = resources.c
        query = select(resources).where(c.kind == kind, c.status.in_(statuses)).order_by(c.creation_time, c.name)
        with self._guard(write=False), self._read() as conn:
            return self._records(conn.execute(query).fetchall())

    def count(self, kinds: tuple[str, ...], statuses: tuple[str, ...]) -> int:
        """How many rows of `kinds` have one of `statuses` (every region). StoreUnavailable."""
        c = resources.c
        query = select(func.count()).select_from(resources).where(c.kind.in_(kinds), c.status.in_(statuses))
        with self._guard(write=False), self._read() as conn:
            return conn.execute(query).scalar_one()


def wait_for_room(write: Callable[[], T], what: str) -> T:
    """Runs a store write from a background thread, repeating it after WAIT_FOR_ROOM pauses
    while it raises StoreUnavailable (disk full, I/O error); logs the first failure once.
    Never use it on a request path: there StoreUnavailable is the answer."""
    attempt = 0
    while True:
        try:
            return write()
        except StoreUnavailable as e:
            if attempt == 0:
                log.error("%s waits for the job store: %s", what, e.message)
            time.sleep(WAIT_FOR_ROOM[min(attempt, len(WAIT_FOR_ROOM) - 1)])
            attempt += 1
