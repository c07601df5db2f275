"""Scale-out benchmark: throughput and job latency with 1, 2 and 3 worker processes on one
PostgreSQL, plus the claim overhead per job.

    python bench/scale.py                 # 1, 2, 3 workers x 12 jobs (several minutes)
    python bench/scale.py --quick         # 1 and 2 workers x 6 jobs
    python bench/scale.py --workers 1 2 3 4 --jobs 24 --clips jfk librivox_0870

Run from the repository root with the project's virtualenv (it imports tests.support and
tests.scale.postgres) on a machine with PostgreSQL's initdb/pg_ctl (Debian: postgresql).

Setup: a throw-away PostgreSQL cluster (tests.scale.postgres), one API node (`serve --workers 0
--database-url ...`, embedded SeaweedFS as the shared S3, --lazy-models) and, for each worker
count N, N `transcribe-emulator worker` processes with --cpu-threads max(1, cores // N) (so the
CTranslate2 threads add up to the cores), started and model-loaded before the clock starts.
All jobs are started at once through the API; the clock stops when the last is COMPLETED.

Figures:
  throughput   audio hours transcribed per wall-clock hour (= audio seconds / wall seconds);
  latency      per job, CompletionTime - CreationTime (queueing included): median and max;
  RTF          wall seconds per audio second of the whole batch (1 / throughput);
  claim        Store.claim + the completing compare-and-set, per job, timed in this process
               on the same PostgreSQL (and on SQLite) with no transcription: the cost the
               queue adds to each job.
Results: a markdown table on stdout and bench/results/scale-<timestamp>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS_DIR = REPO / "bench" / "results"
CLIPS = ["jfk", "librivox_0870", "ls_61-70968-0000", "an4_10001-90210-01803", "librivox_0920", "cv_en_22058264"]
KIND = "transcription-job"


def _workers(root: Path, url: str, s3_endpoint: str, count: int, cores: int) -> list:
    from tests.scale.cluster import WorkerProcess

    threads = max(1, cores // count)
    workers = []
    for i in range(count):
        worker = WorkerProcess(root / f"w{count}-{i}", url, s3_endpoint)
        worker.args[worker.args.index("--cpu-threads") + 1] = str(threads)
        workers.append(worker.start(timeout=180))
    deadline = time.monotonic() + 180  # the model loaded in each, so loading is not timed
    while time.monotonic() < deadline and not all("models loaded" in w.log_tail(400) for w in workers):
        time.sleep(0.2)
    return workers


def run_batch(api, store, clips: list[str], durations: dict, jobs: int, label: str) -> dict:
    client = api.transcribe()
    names = [f"{label}-{i:03d}-{uuid.uuid4().hex[:6]}" for i in range(jobs)]
    audio = 0.0
    began = time.monotonic()
    for i, name in enumerate(names):
        clip = clips[i % len(clips)]
        audio += durations[clip]
        client.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US",
                                       Media={"MediaFileUri": f"s3://media/{clip}"})
    while True:
        records = [store.get(KIND, "us-east-1", n) for n in names]
        if all(r.status in ("COMPLETED", "FAILED") for r in records):
            break
        time.sleep(0.2)
    wall = time.monotonic() - began
    failed = [r.name for r in records if r.status != "COMPLETED"]
    latencies = [r.doc["CompletionTime"] - r.doc["CreationTime"] for r in records if r.status == "COMPLETED"]
    return {
        "jobs": jobs,
        "failed": failed,
        "audio_seconds": round(audio, 2),
        "wall_seconds": round(wall, 2),
        "audio_hours_per_hour": round(audio / wall, 2),
        "rtf": round(wall / audio, 3),
        "latency_median_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_max_s": round(max(latencies), 2) if latencies else None,
        "claims_per_worker": sorted(
            {c["Worker"].split(":")[1] for r in records for c in r.internal.get("Claims", [])}
        ),
    }


def claim_overhead(store, rows: int) -> dict:
    """Seconds per job for claim + completing CAS, no transcription (rows of a bench kind)."""
    from emulator.storage.store import Record

    kind = f"bench-{uuid.uuid4().hex[:6]}"
    for i in range(rows):
        store.insert(Record(kind, "us-east-1", f"j{i}", "QUEUED", float(i), {"S": "QUEUED"}, {}))

    def start(record):
        record.status = "IN_PROGRESS"

    def complete(record):
        record.status = "COMPLETED"

    began = time.perf_counter()
    claims = 0
    while (record := store.claim((kind,), f"bench:{claims}", 30, queued=("QUEUED",), running=("IN_PROGRESS",),
                                 change=start)) is not None:
        store.modify(kind, record.region, record.name, complete, lease_owner=record.lease_owner)
        claims += 1
    per_job = (time.perf_counter() - began) / max(1, claims)
    for i in range(rows):
        store.delete(kind, "us-east-1", f"j{i}")
    return {"rows": claims, "ms_per_job": round(per_job * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3], help="worker process counts to run")
    parser.add_argument("--jobs", type=int, default=12, help="jobs per worker count")
    parser.add_argument("--clips", nargs="+", default=CLIPS, help="manifest ids of the clips, cycled over the jobs")
    parser.add_argument("--claim-rows", type=int, default=200, help="rows for the claim-overhead measurement")
    parser.add_argument("--quick", action="store_true", help="1 and 2 workers x 6 jobs, 50 claim rows")
    parser.add_argument("--keep", action="store_true", help="keep the temporary dirs and logs")
    args = parser.parse_args()
    if args.quick:
        args.workers, args.jobs, args.claim_rows = [1, 2], 6, 50

    from emulator.storage.store import Store
    from tests.scale.postgres import PostgresCluster
    from tests.support import EmulatorProcess, audio_path, manifest

    cores = os.cpu_count() or 1
    durations = {clip: float(manifest()[clip]["duration"]) for clip in args.clips}
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    cluster = PostgresCluster().init()
    cluster.start()
    api = workers = None
    results: dict = {"cores": cores, "clips": args.clips, "runs": {}, "claim": {}}
    try:
        url = cluster.create_database("bench")
        api = EmulatorProcess(root / "api", ["--workers", "0", "--database-url", url, "--lazy-models"]).start()
        s3 = api.s3()
        s3.create_bucket(Bucket="media")
        for clip in args.clips:
            s3.upload_file(str(audio_path(clip)), "media", clip)
        store = Store(url=url)
        for count in args.workers:
            workers = _workers(root, url, api.s3_endpoint, count, cores)
            results["runs"][count] = run_batch(api, store, args.clips, durations, args.jobs, f"w{count}")
            print(f"{count} worker(s): {results['runs'][count]}", flush=True)
            for worker in workers:
                worker.stop()
        results["claim"]["postgresql"] = claim_overhead(store, args.claim_rows)
        store.close()
        sqlite = Store(root / "claims.sqlite3")
        results["claim"]["sqlite"] = claim_overhead(sqlite, args.claim_rows)
        sqlite.close()
    finally:
        for worker in workers or []:
            worker.stop()
        if api:
            api.stop()
        cluster.stop("immediate")
        if not args.keep:
            cluster.remove()
            shutil.rmtree(root, ignore_errors=True)
    print()
    print("| worker processes | jobs | audio (s) | wall (s) | audio h / wall h | latency median (s) | latency max (s) |")
    print("|---|---|---|---|---|---|---|")
    for count, run in results["runs"].items():
        print(f"| {count} | {run['jobs']} | {run['audio_seconds']} | {run['wall_seconds']} | "
              f"{run['audio_hours_per_hour']} | {run['latency_median_s']} | {run['latency_max_s']} |")
    for database, claim in results["claim"].items():
        print(f"claim + completing compare-and-set on {database}: {claim['ms_per_job']} ms per job ({claim['rows']} rows)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"scale-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}; logs: {root if args.keep else '(removed; --keep keeps them)'}")


if __name__ == "__main__":
    main()
