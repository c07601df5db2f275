"""Durable state in SQLite: one row per resource (job, vocabulary, ...), JSON documents inside.

Each write is its own committed transaction in WAL mode with synchronous=FULL, so a
`kill -9` at any moment loses nothing that an API call has answered for.

When SQLite cannot read or write (SQLITE_FULL on a full disk, an I/O error) every method
raises StoreUnavailable, an InternalFailureException whose message names the file and the
cause, and the transaction is rolled back: nothing is half-written. A row whose JSON is
damaged is left out of lists and resumes with a warning naming it (kind, region, name).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
import time
from typing import Callable, Iterator, TypeVar

from emulator.aws.errors import InternalFailureException

log = logging.getLogger(__name__)
T = TypeVar("T")

# Background writes (a job's IN_PROGRESS and outcome, a vocabulary's or model's result) wait
# out a full disk with these pauses (the last repeats), so work ends with its real outcome
# as soon as there is room again, never stuck until a restart.
WAIT_FOR_ROOM = (1.0, 2.0, 5.0)  # seconds

# Below this many free bytes in the data dir the store probe reports the disk as full: SQLite
# (WAL frames, checkpoints) and the embedded S3 both need some room to write at all.
MIN_FREE_BYTES = 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    kind          TEXT NOT NULL,   -- "transcription-job", later "vocabulary", ...
    region        TEXT NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL,
    creation_time REAL NOT NULL,   -- epoch seconds
    doc           TEXT NOT NULL,   -- JSON: the resource as the API shows it
    internal      TEXT NOT NULL,   -- JSON: what the emulator keeps beside it
    PRIMARY KEY (kind, region, name)
);
CREATE INDEX IF NOT EXISTS resources_by_time ON resources (kind, region, creation_time);
CREATE INDEX IF NOT EXISTS resources_by_status ON resources (kind, status);
"""


class AlreadyExists(Exception):
    pass


class StoreError(Exception):
    """The database file cannot be used: corrupt, or not this emulator's (message names it)."""


class StoreUnavailable(InternalFailureException):
    """SQLite failed a read or write (disk full, I/O error, locked for over 30 s). The API
    answers it as InternalFailureException (HTTP 500) with this message."""


class CorruptRecord(Exception):
    """A row whose `doc` or `internal` is not valid JSON; the message names the row."""


_COLUMNS = ("kind", "region", "name", "status", "creation_time", "doc", "internal")


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
        foreign = tables - {"resources"} - {t for t in tables if t.startswith("sqlite_")}
        if foreign:
            raise StoreError(
                f"{path} is not a transcribe-emulator job store (it has tables {sorted(foreign)}); {advice}"
            )
        if "resources" in tables:
            columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(resources)"))
            if columns != _COLUMNS:
                raise StoreError(f"{path} is not a transcribe-emulator job store (columns {columns}); {advice}")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreError(f"the job store {path} is corrupt ({problems[0]}); {advice}")
    except sqlite3.DatabaseError as e:  # "file is not a database", "database disk image is malformed"
        raise StoreError(f"the job store {path} is corrupt or not SQLite ({e}); {advice}") from None
    finally:
        conn.close()


@dataclass
class Record:
    kind: str
    region: str
    name: str
    status: str
    creation_time: float
    doc: dict
    internal: dict


class Store:
    """Thread-safe: one connection per thread, SQLite serialises the writers."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_failure: str | None = None  # the last write's error until a write succeeds
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _guard(self, write: bool) -> Iterator[None]:
        """Turns SQLite's operational errors into StoreUnavailable and remembers whether
        the last write failed (for the health probe)."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as e:
            action = "written" if write else "read"
            why = f"the job store {self.path} can't be {action}: {e}"
            if write:
                self._write_failure = str(e)
            log.error("%s", why)
            raise StoreUnavailable(
                f"Internal failure: {why}. Free disk space (or fix the file) and try your request again."
            ) from None
        else:
            if write:
                self._write_failure = None

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def ping(self) -> None:
        """Health probe: a read of the resources table, the free space of the data dir (at
        least MIN_FREE_BYTES), and after a failed write an empty write transaction that must
        commit. Raises sqlite3.Error or OSError with the reason; costs well under 1 ms."""
        conn = self._connect()
        conn.execute("SELECT 1 FROM resources LIMIT 1").fetchall()
        stats = os.statvfs(self.path.parent)
        free = stats.f_bavail * stats.f_frsize
        if free < MIN_FREE_BYTES:
            raise OSError(f"disk full: {free} bytes free in {self.path.parent}")
        if self._write_failure is not None:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE resources SET status = status WHERE rowid = (SELECT min(rowid) FROM resources)")
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                _rollback(conn)
                raise sqlite3.OperationalError(f"the last write failed and still fails: {e}") from None
            self._write_failure = None

    @staticmethod
    def _record(row) -> Record:
        kind, region, name, status, creation_time, doc, internal = row
        try:
            return Record(kind, region, name, status, creation_time, json.loads(doc), json.loads(internal))
        except (TypeError, ValueError) as e:
            raise CorruptRecord(f"{kind} {name!r} in region {region}: damaged JSON ({e})") from None

    def _records(self, rows) -> list[Record]:
        """The rows as Records; a damaged row is left out with a warning naming it."""
        records = []
        for row in rows:
            try:
                records.append(self._record(row))
            except CorruptRecord as e:
                log.warning("skipping a damaged row of the job store %s: %s", self.path, e)
        return records

    def insert(self, record: Record) -> None:
        """Raises AlreadyExists when (kind, region, name) is taken, StoreUnavailable."""
        try:
            with self._guard(write=True):
                self._connect().execute(
                    "INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.kind,
                        record.region,
                        record.name,
                        record.status,
                        record.creation_time,
                        json.dumps(record.doc),
                        json.dumps(record.internal),
                    ),
                )
        except sqlite3.IntegrityError as e:
            raise AlreadyExists(record.name) from e

    def get(self, kind: str, region: str, name: str) -> Record | None:
        """Raises StoreUnavailable (also for a damaged row: its message names the row)."""
        with self._guard(write=False):
            row = (
                self._connect()
                .execute(
                    "SELECT * FROM resources WHERE kind = ? AND region = ? AND name = ?",
                    (kind, region, name),
                )
                .fetchone()
            )
        if row is None:
            return None
        try:
            return self._record(row)
        except CorruptRecord as e:
            raise StoreUnavailable(f"Internal failure: the job store {self.path} has a damaged row: {e}.") from None

    def update(self, record: Record) -> bool:
        """Writes status, doc and internal; False if the row was deleted meanwhile. StoreUnavailable."""
        with self._guard(write=True):
            cur = self._connect().execute(
                "UPDATE resources SET status = ?, doc = ?, internal = ? WHERE kind = ? AND region = ? AND name = ?",
                (
                    record.status,
                    json.dumps(record.doc),
                    json.dumps(record.internal),
                    record.kind,
                    record.region,
                    record.name,
                ),
            )
        return cur.rowcount == 1

    def modify(self, kind: str, region: str, name: str, change: Callable[[Record], None]) -> Record | None:
        """Atomic read-modify-write: `change` edits the record in place inside one write
        transaction, so concurrent writers (a worker finishing a job, a TagResource call)
        never undo each other. Returns the new record, None if it does not exist.
        Exceptions from `change` roll back and propagate; SQLite failures roll back and
        raise StoreUnavailable (SQLite may have rolled back itself, e.g. on SQLITE_FULL)."""
        conn = self._connect()
        with self._guard(write=True):
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT * FROM resources WHERE kind = ? AND region = ? AND name = ?", (kind, region, name)
                ).fetchone()
                if row is None:
                    _rollback(conn)
                    return None
                record = self._record(row)
                change(record)
                conn.execute(
                    "UPDATE resources SET status = ?, doc = ?, internal = ? WHERE kind = ? AND region = ? AND name = ?",
                    (record.status, json.dumps(record.doc), json.dumps(record.internal), kind, region, name),
                )
                conn.execute("COMMIT")
                return record
            except BaseException:
                _rollback(conn)
                raise

    def delete(self, kind: str, region: str, name: str) -> bool:
        """True if a row was deleted. StoreUnavailable."""
        with self._guard(write=True):
            cur = self._connect().execute(
                "DELETE FROM resources WHERE kind = ? AND region = ? AND name = ?", (kind, region, name)
            )
        return cur.rowcount == 1

    def list(self, kind: str, region: str, status: str | None = None, name_contains: str | None = None) -> list[Record]:
        """Newest first. name_contains matches case-insensitively. Damaged rows are left out
        (a warning names each). StoreUnavailable."""
        sql = "SELECT * FROM resources WHERE kind = ? AND region = ?"
        args: list = [kind, region]
        if status:
            sql += " AND status = ?"
            args.append(status)
        if name_contains:
            sql += " AND instr(lower(name), lower(?)) > 0"
            args.append(name_contains)
        sql += " ORDER BY creation_time DESC, name DESC"
        with self._guard(write=False):
            return self._records(self._connect().execute(sql, args).fetchall())

    def with_status(self, kind: str, statuses: tuple[str, ...]) -> list[Record]:
        """Every region, oldest first (the order to resume work in); damaged rows left out."""
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT * FROM resources WHERE kind = ? AND status IN ({marks}) ORDER BY creation_time, name"
        with self._guard(write=False):
            return self._records(self._connect().execute(sql, (kind, *statuses)).fetchall())


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


def _rollback(conn: sqlite3.Connection) -> None:
    """ROLLBACK if a transaction is still open: SQLite ends it by itself after some errors
    (SQLITE_FULL, SQLITE_IOERR), and a second ROLLBACK would raise "no transaction is active"."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
