"""TranscribeAudio latency: a 5 s clip through the emulator against raw faster-whisper.

    python bench/transcribe_audio.py              # 10 timed calls each way
    python bench/transcribe_audio.py --repeats 3  # quicker

Run from the repository root with the project's virtualenv (it imports `tests.support` and
bench/batch.py's raw baseline). Target (issue 13): the emulator's median latency at most
raw faster-whisper's median + 0.15 s. Results: a few lines on stdout and
bench/results/transcribe-audio-<timestamp>.json (git-ignored).

Phases, one after another so they do not compete for the CPU:
  1. raw      - bench/batch.py's baseline child: faster-whisper alone with the emulator's model
                and options; decode + transcribe of the clip's file, per run.
  2. emulator - one emulator (default settings, workers=1), warmed up with one call; each
                timed span is boto3's `transcribe_audio(Media={"MediaBytes": <the file>},
                Language="en")` from call to parsed response: SigV4, base64, awsJson, the
                worker pool, decoding, recognition, post-processing, rendering.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS_DIR = REPO / "bench" / "results"
CLIP = "ls_61-70968-0000"  # 4.9 s, 16 kHz FLAC, LibriSpeech test-clean
WARMUP_CLIP = "sb_spk1_snt1"
OVERHEAD_MAX_S = 0.15  # emulator median - raw median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10, help="timed runs each way (default 10)")
    args = parser.parse_args()

    from bench.batch import run_raw
    from tests.support import EmulatorProcess, audio_path

    clip, warmup = audio_path(CLIP), audio_path(WARMUP_CLIP)
    work = Path(tempfile.mkdtemp(prefix="bench-transcribe-audio-"))
    print(f"[1/2] raw faster-whisper: {CLIP} x{args.repeats} ...", flush=True)
    raw = run_raw([{"id": CLIP, "path": str(clip), "repeats": args.repeats}], str(warmup), work)
    raw_times = raw["files"][CLIP]["times_s"]

    print(f"[2/2] emulator TranscribeAudio: {CLIP} x{args.repeats} ...", flush=True)
    emu = EmulatorProcess(work / "emu" / "data")
    emu.data_dir.parent.mkdir(parents=True)
    emu.start()
    try:
        client = emu.transcribe()
        client.transcribe_audio(Media={"MediaBytes": warmup.read_bytes()}, Language="en")
        media = clip.read_bytes()
        emulator_times, text = [], ""
        for _ in range(args.repeats):
            started = time.perf_counter()
            response = client.transcribe_audio(Media={"MediaBytes": media}, Language="en")
            emulator_times.append(time.perf_counter() - started)
            text = response["TranscriptResponse"]["Results"]["Transcript"]
    finally:
        emu.stop()

    raw_median, emulator_median = statistics.median(raw_times), statistics.median(emulator_times)
    overhead = emulator_median - raw_median
    report = {
        "benchmark": "transcribe-audio",
        "started": datetime.now().isoformat(timespec="seconds"),
        "clip": CLIP,
        "repeats": args.repeats,
        "raw": {
            "model": raw["model"],
            "times_s": raw_times,
            "median_s": raw_median,
            "text": raw["files"][CLIP]["text"],
        },
        "emulator": {"times_s": emulator_times, "median_s": emulator_median, "text": text},
        "overhead_s": overhead,
        "target_overhead_max_s": OVERHEAD_MAX_S,
        "meets_target": overhead <= OVERHEAD_MAX_S,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"transcribe-audio-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2))
    for label, median, times in (
        (f"raw faster-whisper ({raw['model']})", raw_median, raw_times),
        ("emulator TranscribeAudio", emulator_median, emulator_times),
    ):
        print(f"{label:30s} median {median:.3f} s  (" + ", ".join(f"{t:.2f}" for t in times) + ")")
    verdict = "meets" if overhead <= OVERHEAD_MAX_S else "misses"
    print(f"overhead {overhead * 1000:+.0f} ms: {verdict} the target of +{OVERHEAD_MAX_S * 1000:.0f} ms; {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
