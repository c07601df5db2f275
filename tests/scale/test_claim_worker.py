"""ClaimWorker on a real store (SQLite here; PostgreSQL in test_store_claims and test_cluster):
a lease renewed while the work runs longer than the lease itself is never taken over, and the
work's final state move carries the claim token."""

from __future__ import annotations

import time

from emulator.service.worker import ClaimQueue, ClaimWorker, current_lease
from emulator.storage.store import Record, Store

KIND = "transcription-job"


def test_a_renewed_lease_outlives_its_length_and_the_holder_completes_once(tmp_path):
    store = Store(tmp_path / "emulator.sqlite3")
    store.insert(Record(KIND, "us-east-1", "slow", "QUEUED", 1.0, {"TranscriptionJobName": "slow"}, {}))
    stolen = []

    def run(record: Record) -> None:
        token = current_lease()
        assert token and token == record.lease_owner
        deadline = time.monotonic() + 2.0  # over three lease lengths
        while time.monotonic() < deadline:
            stolen.append(store.claim((KIND,), "other:1:x", 0.6, queued=("QUEUED",), running=("IN_PROGRESS",)))
            time.sleep(0.1)

        def complete(current: Record) -> None:
            current.status = "COMPLETED"

        store.modify(KIND, record.region, record.name, complete, lease_owner=token)

    def start(record: Record) -> None:
        record.status = "IN_PROGRESS"

    worker = ClaimWorker(store, [ClaimQueue((KIND,), run, queued=("QUEUED",), running=("IN_PROGRESS",), start=start)],
                         lease_seconds=0.6, poll_seconds=0.05)
    assert worker.run_once()
    assert stolen and not any(stolen)  # renewed every 0.2 s: never claimable meanwhile
    record = store.get(KIND, "us-east-1", "slow")
    assert (record.status, record.revision, record.lease_owner) == ("COMPLETED", 2, None)
    assert [c["Worker"].rsplit(":", 1)[0] for c in record.internal["Claims"]] == [worker.worker]
    assert worker.claims == 1 and not worker.run_once()  # nothing left to claim
