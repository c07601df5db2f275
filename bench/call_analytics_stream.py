"""Real-time Call Analytics benchmark: the JS SDK's StartCallAnalyticsStreamTranscription over
HTTP/2 (h2c) streaming two-channel calls at real-time pace to a running emulator, timed from
the client's side, with the post-call output of the same streams as the batch baseline.

    python bench/call_analytics_stream.py                # 3 calls x 2 runs (~6 min idle)
    python bench/call_analytics_stream.py --repeats 1

Run from the repository root with the project's virtualenv and the test extra (it imports
`tests.support`), Node.js >= 20 and the JS SDK installed (`cd tests/streaming/node && npm ci`).
It runs tests/streaming/node/call_analytics_client.mjs, which stamps every event with the
seconds since it sent the first audio.

A call: the agent's clip (voiced span) on channel 0 from 0.5 s, the customer's clip on
channel 1 from 1 s after the agent stops, 1.5 s of silence after; sent in 100 ms AudioEvents
at real-time pace after a ConfigurationEvent with PostCallAnalyticsSettings. Figures per
role and call (seconds; medians over runs, then over calls), as bench/streaming.py defines
them for StartStreamTranscription:
- first partial: the first UtteranceEvent of the role with words, after the role's speech
  starts. Target <= 1.0 s.
- final: the role's last final UtteranceEvent, after its speech ends. Target <= 1.5 s.
- WER of the final utterances per role against the manifest text (pooled over calls and
  runs, Whisper's English normaliser), and of the post-call output's turns per role (the
  batch Call Analytics pipeline on the stream's own WAV, the same model): the baseline.
  Target: stream <= batch + 2 points.
Writes bench/results/call_analytics_stream-<timestamp>.json (git-ignored). Exit status 0: a
measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.streaming import pooled_wer  # noqa: E402
from tests.support import EmulatorProcess, audio_path, manifest, voiced_span, write_wav  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"
CLIENT = REPO / "tests" / "streaming" / "node" / "call_analytics_client.mjs"
DEFAULT_CALLS = "ls_61-70968-0000+sb_spk2_snt1,librivox_0870+librivox_0880,jfk+sb_spk1_snt2"
BUCKET = "bench-call-analytics"
LEAD_S, GAP_S, TAIL_S = 0.5, 1.0, 1.5
RATE = 16000
ROLES = ("AGENT", "CUSTOMER")


def build_call(agent: str, customer: str, folder: Path) -> tuple[Path, dict[str, tuple[float, float]]]:
    """The call as stereo s16le (and a WAV beside it); each role's speech (start, end) in seconds."""
    from emulator.engine.media import decode

    clips = []
    for item in (agent, customer):
        samples = decode(audio_path(item))
        first, last = voiced_span(samples, RATE)
        clips.append(samples[first:last])
    starts = [LEAD_S, LEAD_S + len(clips[0]) / RATE + GAP_S]
    stereo = np.zeros((int((starts[1] + len(clips[1]) / RATE + TAIL_S) * RATE), 2), dtype=np.float32)
    spans = {}
    for channel, (role, clip, start) in enumerate(zip(ROLES, clips, starts)):
        begin = int(start * RATE)
        stereo[begin : begin + len(clip), channel] = clip
        spans[role] = (start, start + len(clip) / RATE)
    name = f"{agent}+{customer}"
    write_wav(folder / f"{name}.wav", stereo, RATE)
    path = folder / f"{name}.s16le"
    path.write_bytes((np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
    return path, spans


def stream_once(emulator: EmulatorProcess, pcm: Path, spans: dict, folder: str) -> dict:
    """One stream through the JS SDK, reduced to the figures of the module docstring."""
    command = [shutil.which("node"), str(CLIENT), "--endpoint", emulator.endpoint, "--audio", str(pcm),
               "--output-location", f"s3://{BUCKET}/{folder}/"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode or not lines or lines[-1]["event"] != "end":
        raise RuntimeError(f"stream failed: {run.stdout[-2000:]} {run.stderr[-2000:]}")
    out = {"session_id": lines[-1]["SessionId"]}
    for role in ROLES:
        events = [e for e in lines if e["event"] == "UtteranceEvent" and e["ParticipantRole"] == role]
        worded = [e["t"] for e in events if e["Transcript"].strip()]
        finals = [e for e in events if not e["IsPartial"]]
        out[role] = {
            "first_partial_s": round(worded[0] - spans[role][0], 3) if worded else None,
            "final_s": round(finals[-1]["t"] - spans[role][1], 3) if finals else None,
            "transcript": " ".join(e["Transcript"] for e in finals),
        }
    return out


def post_call_transcripts(emulator: EmulatorProcess, session_id: str, folder: str) -> dict[str, str]:
    """Each role's text in the post-call output of a stream (waits for its job)."""
    transcribe, s3 = emulator.transcribe(), emulator.s3()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            job = transcribe.get_call_analytics_job(CallAnalyticsJobName=session_id)["CallAnalyticsJob"]
            if job["CallAnalyticsJobStatus"] in ("COMPLETED", "FAILED"):
                break
        except transcribe.exceptions.BadRequestException:  # not yet started: AWS's not-found of jobs
            pass
        time.sleep(0.5)
    body = s3.get_object(Bucket=BUCKET, Key=f"{folder}/{session_id}.json")["Body"].read()
    turns = json.loads(body)["Transcript"]
    return {role: " ".join(t["Content"] for t in turns if t["ParticipantRole"] == role) for role in ROLES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default=DEFAULT_CALLS, help="comma-separated AGENT_ID+CUSTOMER_ID manifest pairs")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    pairs = [tuple(call.split("+")) for call in args.calls.split(",")]
    texts = manifest()
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        calls = {f"{a}+{c}": (build_call(a, c, folder), {"AGENT": a, "CUSTOMER": c}) for a, c in pairs}
        emulator = EmulatorProcess(folder / "data").start()
        try:
            emulator.s3().create_bucket(Bucket=BUCKET)
            first = next(iter(calls.values()))[0]
            stream_once(emulator, first[0], first[1], "warm-up")  # not counted
            for index in range(args.repeats):
                for name, ((pcm, spans), _) in calls.items():  # interleaved: load drift spreads over calls
                    runs.setdefault(name, []).append(stream_once(emulator, pcm, spans, f"run{index}"))
            for name, call_runs in runs.items():
                for index, run in enumerate(call_runs):
                    run["post_call"] = post_call_transcripts(emulator, run["session_id"], f"run{index}")
        finally:
            emulator.stop()
    report = {"calls": {}, "pooled": {}}
    print(f"{'call':42} {'role':9} {'first partial s':>16} {'final s':>8} {'WER stream':>11} {'WER batch':>10}")
    for name, call_runs in runs.items():
        items = calls[name][1]
        for role in ROLES:
            firsts = [r[role]["first_partial_s"] for r in call_runs if r[role]["first_partial_s"] is not None]
            finals = [r[role]["final_s"] for r in call_runs if r[role]["final_s"] is not None]
            refs = [texts[items[role]]["text"]] * len(call_runs)
            row = {
                "first_partial_s": statistics.median(firsts) if firsts else None,
                "final_s": statistics.median(finals) if finals else None,
                "wer_stream": pooled_wer(refs, [r[role]["transcript"] for r in call_runs]),
                "wer_batch": pooled_wer(refs, [r["post_call"][role] for r in call_runs]),
            }
            report["calls"].setdefault(name, {})[role] = row
            print(f"{name:42} {role:9} {row['first_partial_s'] or float('nan'):16.3f} "
                  f"{row['final_s'] or float('nan'):8.3f} {row['wer_stream']:11.3f} {row['wer_batch']:10.3f}")
    for role in ROLES:
        refs, stream, batch = [], [], []
        for name, call_runs in runs.items():
            refs += [texts[calls[name][1][role]]["text"]] * len(call_runs)
            stream += [r[role]["transcript"] for r in call_runs]
            batch += [r["post_call"][role] for r in call_runs]
        rows = [report["calls"][name][role] for name in runs]
        report["pooled"][role] = {
            "first_partial_s": statistics.median(
                r["first_partial_s"] for r in rows if r["first_partial_s"] is not None
            ),
            "final_s": statistics.median(r["final_s"] for r in rows if r["final_s"] is not None),
            "wer_stream": pooled_wer(refs, stream),
            "wer_batch": pooled_wer(refs, batch),
        }
        pooled = report["pooled"][role]
        print(f"{'pooled (medians of calls)':42} {role:9} {pooled['first_partial_s']:16.3f} {pooled['final_s']:8.3f} "
              f"{pooled['wer_stream']:11.3f} {pooled['wer_batch']:10.3f}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"call_analytics_stream-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({**report, "runs": runs, "repo": str(REPO)}, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
