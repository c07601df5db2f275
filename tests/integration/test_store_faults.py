"""The job store on a full disk and with a damaged row: clear errors, no half-written state,
background writes that finish once there is room. A real SQLite file on a small tmpfs."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from emulator.storage.store import Record, Store, StoreUnavailable, wait_for_room
from tests.support import fill_disk, tmpfs


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs(tmp_path / "disk", "2m") as mount:
        yield mount


def _job(name: str, status: str = "QUEUED") -> Record:
    return Record("transcription-job", "us-east-1", name, status, 1.0, {"TranscriptionJobName": name, "pad": "x" * 3000}, {})


def test_full_disk_rolls_back_cleanly_and_background_writes_wait_for_room(small_disk):
    store = Store(small_disk / "emulator.sqlite3")
    store.insert(_job("accepted"))
    filler = fill_disk(small_disk)

    with pytest.raises(StoreUnavailable, match="database or disk is full"):
        for i in range(50):  # the WAL may hold a few pages more; it runs out soon
            store.insert(_job(f"new-{i}"))

    def start(record: Record) -> None:
        record.status = "IN_PROGRESS"
        record.doc["pad"] = "y" * 20000

    with pytest.raises(StoreUnavailable):  # not "cannot rollback - no transaction is active"
        store.modify("transcription-job", "us-east-1", "accepted", start)
    assert store.get("transcription-job", "us-east-1", "accepted").status == "QUEUED"
    with pytest.raises(OSError, match="disk full"):
        store.ping()

    done = threading.Event()
    waiter = threading.Thread(
        target=lambda: (wait_for_room(lambda: store.modify("transcription-job", "us-east-1", "accepted", start), "job"),
                        done.set()),
        daemon=True,
    )
    waiter.start()
    assert not done.wait(1.5)  # still waiting while the disk is full
    os.unlink(filler)
    assert done.wait(15)
    assert store.get("transcription-job", "us-east-1", "accepted").status == "IN_PROGRESS"
    store.ping()


def test_a_damaged_row_is_left_out_of_lists_and_named_by_get(tmp_path, caplog):
    store = Store(tmp_path / "emulator.sqlite3")
    store.insert(_job("good"))
    store.insert(_job("bad"))
    with sqlite3.connect(tmp_path / "emulator.sqlite3") as db:
        db.execute("UPDATE resources SET internal = '{' WHERE name = 'bad'")
    assert [r.name for r in store.list("transcription-job", "us-east-1")] == ["good"]
    assert [r.name for r in store.with_status("transcription-job", ("QUEUED",))] == ["good"]
    assert "'bad'" in caplog.text
    with pytest.raises(StoreUnavailable, match="damaged row.*'bad'"):
        store.get("transcription-job", "us-east-1", "bad")
