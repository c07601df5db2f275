"""The job store on real PostgreSQL and SQLite: the same operations, claims with a lease
(SELECT ... FOR UPDATE SKIP LOCKED), compare-and-set on the claim, migrations from a data dir
written before migrations existed, and a clear StoreUnavailable while PostgreSQL is down."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import pytest

from emulator.storage.database import COLUMNS
from emulator.storage.store import AlreadyExists, LeaseLost, Record, Store, StoreUnavailable

KIND = "transcription-job"


def _job(name: str, status: str = "QUEUED", created: float = 1.0) -> Record:
    return Record(KIND, "us-east-1", name, status, created, {"TranscriptionJobName": name}, {})


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = Store(tmp_path / "emulator.sqlite3")
    else:
        store = Store(url=request.getfixturevalue("postgres").create_database(f"claims_{uuid.uuid4().hex[:8]}"))
    yield store
    store.close()


def _start(record: Record) -> None:
    record.status = record.doc["TranscriptionJobStatus"] = "IN_PROGRESS"


def test_the_same_operations_on_both_databases(store):
    store.insert(_job("Alpha", created=1.0))
    store.insert(_job("beta", created=2.0))
    with pytest.raises(AlreadyExists):
        store.insert(_job("beta"))
    assert [r.name for r in store.list(KIND, "us-east-1")] == ["beta", "Alpha"]
    assert [r.name for r in store.list(KIND, "us-east-1", name_contains="ALP")] == ["Alpha"]
    assert store.count((KIND,), ("QUEUED",)) == 2
    record = store.modify(KIND, "us-east-1", "Alpha", _start)
    assert (record.status, record.revision) == ("IN_PROGRESS", 1)  # a status move bumps the revision
    assert store.modify(KIND, "us-east-1", "Alpha", lambda r: r.doc.update(Tags=[])).revision == 1  # a tag doesn't
    assert [r.name for r in store.with_status(KIND, ("IN_PROGRESS",))] == ["Alpha"]
    assert store.delete(KIND, "us-east-1", "Alpha") and store.get(KIND, "us-east-1", "Alpha") is None


def test_a_claim_holds_until_its_lease_lapses_and_only_the_holder_moves_the_state(store):
    store.insert(_job("leased"))
    first = store.claim((KIND,), "w1:a", 30, queued=("QUEUED",), running=("IN_PROGRESS",), change=_start)
    assert (first.status, first.lease_owner, first.revision) == ("IN_PROGRESS", "w1:a", 1)
    assert store.claim((KIND,), "w2:b", 30, queued=("QUEUED",), running=("IN_PROGRESS",)) is None  # leased
    assert store.renew(KIND, "us-east-1", "leased", "w1:a", 30)
    assert not store.renew(KIND, "us-east-1", "leased", "w2:b", 30)

    # w1 dies: once its lease is past, w2 claims the job again and runs it from the start.
    later = time.time() + 31
    second = store.claim((KIND,), "w2:b", 30, queued=("QUEUED",), running=("IN_PROGRESS",), now=later)
    assert (second.name, second.lease_owner, second.revision) == ("leased", "w2:b", 2)

    def complete(record: Record) -> None:
        record.status = "COMPLETED"

    with pytest.raises(LeaseLost):  # w1 comes back (a long pause): its outcome is not written
        store.modify(KIND, "us-east-1", "leased", complete, lease_owner="w1:a")
    done = store.modify(KIND, "us-east-1", "leased", complete, lease_owner="w2:b")
    assert (done.status, done.revision, done.lease_owner) == ("COMPLETED", 3, None)
    with pytest.raises(LeaseLost):  # completed once: a second completion by the same claim is refused
        store.modify(KIND, "us-east-1", "leased", complete, lease_owner="w2:b")


def test_a_released_lease_is_claimable_at_once(store):
    store.insert(_job("given-back"))
    first = store.claim((KIND,), "w1:a", 30, queued=("QUEUED",), running=("IN_PROGRESS",), change=_start)
    assert not store.release(KIND, "us-east-1", "given-back", "w2:b")  # not w2's lease
    assert store.release(KIND, "us-east-1", "given-back", "w1:a")  # w1 gives it back (say, the database went away)
    again = store.claim((KIND,), "w2:b", 30, queued=("QUEUED",), running=("IN_PROGRESS",))
    assert (again.name, again.status, again.revision) == ("given-back", "IN_PROGRESS", first.revision + 1)


def test_concurrent_claimers_take_each_row_once(store):
    for i in range(40):
        store.insert(_job(f"job-{i:02d}", created=float(i)))
    claimed: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claimer(owner: str) -> None:
        while (record := store.claim((KIND,), owner, 30, queued=("QUEUED",), running=("IN_PROGRESS",),
                                     change=_start)) is not None:
            with lock:
                claimed.setdefault(record.name, []).append(owner)

    threads = [threading.Thread(target=claimer, args=(f"worker-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == [f"job-{i:02d}" for i in range(40)]
    assert all(len(owners) == 1 for owners in claimed.values()), claimed
    assert store.count((KIND,), ("QUEUED",)) == 0


def test_a_data_dir_from_before_migrations_opens_with_its_rows(tmp_path):
    path = tmp_path / "emulator.sqlite3"
    with sqlite3.connect(path) as db:  # the schema every release before migrations wrote
        db.executescript("""
            CREATE TABLE resources (kind TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
                status TEXT NOT NULL, creation_time REAL NOT NULL, doc TEXT NOT NULL, internal TEXT NOT NULL,
                PRIMARY KEY (kind, region, name));
            CREATE INDEX resources_by_time ON resources (kind, region, creation_time);
            CREATE INDEX resources_by_status ON resources (kind, status);
        """)
        db.execute("INSERT INTO resources VALUES (?, 'us-east-1', 'old', 'COMPLETED', 1.0, '{}', '{}')", (KIND,))
    store = Store(path)
    assert store.get(KIND, "us-east-1", "old").status == "COMPLETED"
    with sqlite3.connect(path) as db:
        assert tuple(row[1] for row in db.execute("PRAGMA table_info(resources)")) == COLUMNS
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    Store(path).close()  # at head: opening again changes nothing


def test_postgresql_down_is_a_clear_store_error_and_recovers(postgres):
    store = Store(url=postgres.create_database(f"down_{uuid.uuid4().hex[:8]}"))
    store.insert(_job("before"))
    postgres.stop()
    try:
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"the job store postgresql://postgres@127\.0\.0\.1:\d+/down_\w+ "
                                                   r"can't be read.*Check that the database is reachable"):
            store.get(KIND, "us-east-1", "before")
        with pytest.raises(StoreUnavailable, match="can't be written"):
            store.insert(_job("during"))
        assert time.monotonic() - began < 10
    finally:
        postgres.start()
    assert store.get(KIND, "us-east-1", "before").status == "QUEUED"  # stale pooled connections replaced
    store.insert(_job("after"))
    store.close()
