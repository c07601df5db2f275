"""TranscribeAudio latency: a 5 s clip through the emulator against raw faster-whisper.

    python bench/transcribe_audio.py              # 10 timed calls each way
    python bench/transcribe_audio.py --repeats 3  # quicker

Run from the repository root with the project's virtualenv (it imports `tests.support`).
Target (issue 13): the emulator's latency at most raw faster-whisper's + 0.15 s. Results: a few lines on stdout and
bench/results/transcribe-audio-<timestamp>.json (git-ignored).

Raw faster-whisper (in this process, the emulator's model directory and options, as
bench/batch.py's baseline) and the emulator (default settings, workers=1) are timed call by
call in turn, so that both see the same load on a shared machine; the figure is the median of
the per-pair differences, beside the two medians.
  raw      - decode_audio(file) + model.transcribe(...) with the segments consumed.
  emulator - boto3's `transcribe_audio(Media={"MediaBytes": <the file>}, Language="en")` from
             call to parsed response: SigV4, base64, awsJson, the worker pool, decoding,
             recognition, post-processing, rendering.
Both are warmed up with one call of another clip first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
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


def _raw_transcriber(work: Path):
    """(model name, transcribe(path) -> text): faster-whisper with the emulator's model and
    options (bench/batch.py raw_child), loaded on a helper thread as the emulator loads it."""
    from faster_whisper import WhisperModel, decode_audio

    from emulator.storage.models import ModelStore

    models = ModelStore(work / "raw-model-store")
    name = models.model_for_language("en")
    loaded: dict = {}
    options = dict(device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1, num_workers=1)
    directory = str(models.resolve(name))
    loader = threading.Thread(target=lambda: loaded.setdefault("model", WhisperModel(directory, **options)))
    loader.start()
    loader.join()
    model = loaded["model"]

    def transcribe(path: str) -> str:
        segments, _ = model.transcribe(
            decode_audio(path), language="en", beam_size=5, word_timestamps=True, vad_filter=True
        )
        return " ".join(s.text.strip() for s in segments)  # consuming the generator does the work

    return name, transcribe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10, help="timed runs each way (default 10)")
    args = parser.parse_args()

    from tests.support import EmulatorProcess, audio_path

    clip, warmup = audio_path(CLIP), audio_path(WARMUP_CLIP)
    work = Path(tempfile.mkdtemp(prefix="bench-transcribe-audio-"))
    model_name, transcribe_raw = _raw_transcriber(work)
    emu = EmulatorProcess(work / "emu" / "data")
    emu.data_dir.parent.mkdir(parents=True)
    emu.start()
    raw_times, emulator_times, raw_text, text = [], [], "", ""
    try:
        client = emu.transcribe()
        client.transcribe_audio(Media={"MediaBytes": warmup.read_bytes()}, Language="en")
        transcribe_raw(str(warmup))
        media = clip.read_bytes()
        print(f"{CLIP}: raw faster-whisper and emulator TranscribeAudio in turn, x{args.repeats}", flush=True)
        for _ in range(args.repeats):
            started = time.perf_counter()
            raw_text = transcribe_raw(str(clip))
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            response = client.transcribe_audio(Media={"MediaBytes": media}, Language="en")
            emulator_times.append(time.perf_counter() - started)
            text = response["TranscriptResponse"]["Results"]["Transcript"]
    finally:
        emu.stop()

    raw_median, emulator_median = statistics.median(raw_times), statistics.median(emulator_times)
    overhead = statistics.median(e - r for e, r in zip(emulator_times, raw_times))
    report = {
        "benchmark": "transcribe-audio",
        "started": datetime.now().isoformat(timespec="seconds"),
        "clip": CLIP,
        "repeats": args.repeats,
        "loadavg_at_end": os.getloadavg(),
        "raw": {"model": model_name, "times_s": raw_times, "median_s": raw_median, "text": raw_text},
        "emulator": {"times_s": emulator_times, "median_s": emulator_median, "text": text},
        "overhead_s": overhead,
        "min_overhead_s": min(emulator_times) - min(raw_times),  # the least disturbed run of each
        "target_overhead_max_s": OVERHEAD_MAX_S,
        "meets_target": overhead <= OVERHEAD_MAX_S,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"transcribe-audio-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2))
    for label, median, times in (
        (f"raw faster-whisper ({model_name})", raw_median, raw_times),
        ("emulator TranscribeAudio", emulator_median, emulator_times),
    ):
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label:30s} median {median:.3f} s, min {min(times):.3f} s  ({runs})")
    verdict = "meets" if overhead <= OVERHEAD_MAX_S else "misses"
    print(f"overhead (median of pairwise differences) {overhead * 1000:+.0f} ms: {verdict} the target of +{OVERHEAD_MAX_S * 1000:.0f} ms; {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
