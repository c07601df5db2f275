"""HealthScribe streaming benchmark: StartMedicalScribeStream through the JS SDK v3 (HTTP/2, h2c)
at real-time pace on a two-channel visit, against a batch HealthScribe job on the same audio.

    python bench/scribe_stream.py                 # 3 streams of the visit + 1 batch job (~3 min idle)
    python bench/scribe_stream.py --repeats 1

Run from the repository root with the project's virtualenv and the test extra (it imports
`tests.support` and the visit builder of tests/streaming/test_medical_scribe_stream.py, and
runs tests/streaming/node/scribe_client.mjs: Node >= 20 with `npm ci` done in
tests/streaming/node). It starts an emulator of its own (tests.support.EmulatorProcess).

The visit: clinician (channel 0) and patient (channel 1) take turns, four shared clips
(`VISIT` of the test), 1 s apart. The client sends the configuration event, then 100 ms
AudioEvents paced at real time, then END_OF_SESSION, and polls GetMedicalScribeStream until
the clinical note is written. It stamps every line with seconds since it started; "audio" is
the moment it handed the first AudioEvent to the SDK, so a turn's speech starts at
audio + its start in the file (the SDK paces the audio at real time).

Figures (seconds; per turn, then the median and worst over turns and runs):
- first partial: from the turn's speech start to the first segment event (partial or final)
  with words on the turn's channel overlapping the turn. Target <= 1.0 s.
- final: from the turn's speech end to the last final segment of the turn. The engine waits
  0.6 s of silence before a final by design. Target <= 1.5 s.
- note ready: from the last TranscriptEvent to GetMedicalScribeStream reporting the clinical
  note COMPLETED (includes the client's 0.5 s polling).
- WER per role: the finals of each channel (pooled over runs) against the manifest texts,
  after Whisper's English normaliser, vs the batch HealthScribe job's TranscriptSegments of
  that role. Target: stream <= batch + 2 points.
Writes bench/results/scribe_stream-<timestamp>.json (git-ignored). The exit status is 0: it is a
measurement. On a shared machine the figures are rough; rerun idle for ones to quote.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.streaming import pooled_wer  # noqa: E402
from tests.streaming.test_medical_scribe_stream import BUCKET, CHANNEL, VISIT, build_visit  # noqa: E402
from tests.support import EmulatorProcess, manifest, wait_for_job, write_wav  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"
CLIENT = REPO / "tests" / "streaming" / "node" / "scribe_client.mjs"


def stream_once(endpoint: str, pcm: Path) -> list[dict]:
    command = ["node", str(CLIENT), "--endpoint", endpoint, "--audio", str(pcm), "--channels", "2",
               "--channel-definitions", "--bucket", BUCKET, "--poll"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines or lines[-1]["event"] != "end":
        raise RuntimeError(f"stream failed: {run.stdout[-2000:]} {run.stderr[-2000:]}")
    return lines


def analyse(lines: list[dict], spans: list[tuple]) -> dict:
    """Per-turn latencies, the finals' text per role, the note's delay (module docstring)."""
    audio_t = next(line["t"] for line in lines if line["event"] == "audio")
    events = [(line["t"], line["segment"]) for line in lines if line["event"] == "TranscriptEvent"]
    turns = []
    for role, item, start, end in spans:
        channel = f"ch_{CHANNEL[role]}"
        ids = {s["SegmentId"] for _, s in events if not s["IsPartial"] and s.get("ChannelId") == channel
               and s["BeginAudioTime"] < end + 0.3 and s["EndAudioTime"] > start - 0.3}
        mine = [(t, s) for t, s in events if s["SegmentId"] in ids and s["Content"].strip()]
        first = min((t for t, _ in mine), default=None)
        last_final = max((t for t, s in mine if not s["IsPartial"]), default=None)
        turns.append({
            "role": role, "item": item, "start_s": start, "end_s": end,
            "first_partial_s": None if first is None else round(first - (audio_t + start), 3),
            "final_s": None if last_final is None else round(last_final - (audio_t + end), 3),
        })
    finals = [s for _, s in events if not s["IsPartial"]]
    text = {role: " ".join(s["Content"] for s in finals if s.get("ChannelId") == f"ch_{channel}")
            for role, channel in CHANNEL.items()}
    details = next(line for line in lines if line["event"] == "details")
    result = details["details"]["PostStreamAnalyticsResult"]["ClinicalNoteGenerationResult"]
    return {"turns": turns, "text": text, "note_status": result["Status"],
            "note_ready_s": round(details["t"] - max(t for t, _ in events), 3)}


def batch_text(emulator: EmulatorProcess, folder: Path) -> dict[str, str]:
    """The visit as a batch HealthScribe job (WAV in S3, channel identification): text per role."""
    import numpy as np

    pcm, _, _ = build_visit(folder, VISIT, stereo=True)
    samples = np.frombuffer(pcm.read_bytes(), dtype="<i2").reshape(-1, 2).astype(np.float32) / 32767
    wav = write_wav(folder / "visit.wav", samples)
    s3 = emulator.s3()
    s3.upload_file(str(wav), BUCKET, "bench/visit.wav")
    transcribe = emulator.transcribe()
    name = f"scribe-bench-{int(time.time())}"
    transcribe.start_medical_scribe_job(
        MedicalScribeJobName=name, Media={"MediaFileUri": f"s3://{BUCKET}/bench/visit.wav"},
        OutputBucketName=BUCKET, DataAccessRoleArn="arn:aws:iam::123456789012:role/bench",
        Settings={"ChannelIdentification": True},
        ChannelDefinitions=[{"ChannelId": c, "ParticipantRole": r} for r, c in CHANNEL.items()],
    )
    job = wait_for_job(transcribe, name, 600, noun="MedicalScribeJob")
    transcript = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{name}/transcript.json")["Body"].read())
    segments = transcript["Conversation"]["TranscriptSegments"]
    assert job["MedicalScribeJobStatus"] == "COMPLETED", job
    return {role: " ".join(s["Content"] for s in segments if s["ParticipantDetails"]["ParticipantRole"] == f"{role}_0")
            for role in CHANNEL}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="streams of the visit (default 3)")
    args = parser.parse_args()
    refs = manifest()
    references = {role: " ".join(refs[item]["text"] for r, item in VISIT if r == role) for role in CHANNEL}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pcm, seconds, spans = build_visit(folder, VISIT, stereo=True)
        emulator = EmulatorProcess(folder / "data").start()
        try:
            emulator.s3().create_bucket(Bucket=BUCKET)
            stream_once(emulator.endpoint, pcm)  # warm-up (model load), not counted
            runs = [analyse(stream_once(emulator.endpoint, pcm), spans) for _ in range(args.repeats)]
            batch = batch_text(emulator, folder)
        finally:
            emulator.stop()
    turns = [t for run in runs for t in run["turns"]]
    first = [t["first_partial_s"] for t in turns if t["first_partial_s"] is not None]
    final = [t["final_s"] for t in turns if t["final_s"] is not None]
    print(f"visit: {seconds:.1f} s of two-channel audio, {len(VISIT)} turns, {args.repeats} streams")
    print(f"{'turn':28} {'first partial s':>16} {'final s':>8}")
    for t in turns:
        print(f"{t['role'] + ' ' + t['item']:28} {_fmt(t['first_partial_s']):>16} {_fmt(t['final_s']):>8}")
    summary = {
        "first_partial_median_s": statistics.median(first) if first else None,
        "first_partial_max_s": max(first) if first else None,
        "final_median_s": statistics.median(final) if final else None,
        "final_max_s": max(final) if final else None,
        "note_ready_median_s": statistics.median(r["note_ready_s"] for r in runs),
        "missed_turns": len(turns) - len(final),
        "wer": {},
    }
    print(f"first partial: median {_fmt(summary['first_partial_median_s'])}, max {_fmt(summary['first_partial_max_s'])}"
          f" (target <= 1.0); final: median {_fmt(summary['final_median_s'])}, max {_fmt(summary['final_max_s'])}"
          f" (target <= 1.5); note ready {summary['note_ready_median_s']:.2f} s after the last event")
    for role in CHANNEL:
        stream = pooled_wer([references[role]] * len(runs), [r["text"][role] for r in runs])
        batch_wer = pooled_wer([references[role]], [batch[role]])
        summary["wer"][role] = {"stream": round(stream, 4), "batch": round(batch_wer, 4)}
        print(f"WER {role:9} stream {stream * 100:5.1f} %  batch job {batch_wer * 100:5.1f} %"
              "  (target: stream <= batch + 2)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"scribe_stream-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"summary": summary, "runs": runs, "batch": batch, "repo": str(REPO)}, indent=2))
    print(f"written {out}")
    return 0


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
