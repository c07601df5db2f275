"""Durable state in SQLite: one row per resource (job, vocabulary, ...), JSON documents inside.

Each write is its own committed transaction in WAL mode with synchronous=FULL, so a
`kill -9` at any moment loses nothing that an API call has answered for.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def ping(self) -> None:
        """A read of the resources table (health probe). Raises sqlite3.Error."""
        self._connect().execute("SELECT 1 FROM resources LIMIT 1").fetchall()

    @staticmethod
    def _record(row) -> Record:
        kind, region, name, status, creation_time, doc, internal = row
        return Record(kind, region, name, status, creation_time, json.loads(doc), json.loads(internal))

    def insert(self, record: Record) -> None:
        """Raises AlreadyExists when (kind, region, name) is taken."""
        try:
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
        row = (
            self._connect()
            .execute(
                "SELECT * FROM resources WHERE kind = ? AND region = ? AND name = ?",
                (kind, region, name),
            )
            .fetchone()
        )
        return self._record(row) if row else None

    def update(self, record: Record) -> bool:
        """Writes status, doc and internal; False if the row was deleted meanwhile."""
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
        Exceptions from `change` roll back and propagate."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT * FROM resources WHERE kind = ? AND region = ? AND name = ?", (kind, region, name)
            ).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
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
            conn.execute("ROLLBACK")
            raise

    def delete(self, kind: str, region: str, name: str) -> bool:
        cur = self._connect().execute(
            "DELETE FROM resources WHERE kind = ? AND region = ? AND name = ?", (kind, region, name)
        )
        return cur.rowcount == 1

    def list(self, kind: str, region: str, status: str | None = None, name_contains: str | None = None) -> list[Record]:
        """Newest first. name_contains matches case-insensitively."""
        sql = "SELECT * FROM resources WHERE kind = ? AND region = ?"
        args: list = [kind, region]
        if status:
            sql += " AND status = ?"
            args.append(status)
        if name_contains:
            sql += " AND instr(lower(name), lower(?)) > 0"
            args.append(name_contains)
        sql += " ORDER BY creation_time DESC, name DESC"
        return [self._record(row) for row in self._connect().execute(sql, args)]

    def with_status(self, kind: str, statuses: tuple[str, ...]) -> list[Record]:
        """Every region, oldest first (the order to resume work in)."""
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT * FROM resources WHERE kind = ? AND status IN ({marks}) ORDER BY creation_time, name"
        return [self._record(row) for row in self._connect().execute(sql, (kind, *statuses))]
