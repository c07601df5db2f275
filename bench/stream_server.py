"""End-to-end streaming benchmark: the real amazon-transcribe SDK (HTTP/2 over TLS) streaming
real speech at real-time pace to a running emulator, timed from the client's side.

    python bench/stream_server.py                 # 6 English clips x 3 runs (~3 min)
    python bench/stream_server.py --repeats 1     # one run a clip

Run from the repository root with the project's virtualenv and the test extra (it imports
`tests.support` and runs tests/streaming/amazon_transcribe_client.py). Where
bench/streaming.py measures the streaming *engine* alone, this one measures what a user
waits for through the whole server: TLS, HTTP/2, the event-stream codec, chunk signatures,
the stream session, post-processing and the JSON of each event. It is meant to compare two
trees of the emulator on the same machine (run it from each checkout in turn).

How a stream is sent: the clip is decoded to 16 kHz mono s16le, 1.5 s of silence is put
after it, and the SDK sends it in 100 ms AudioEvents, sleeping 100 ms between them, then
ends the stream. The client stamps every event with seconds since the stream request.

Figures (seconds, median over runs, per clip; then pooled medians):
- first words: the first result (partial or final) with a non-empty transcript.
- last final after clip: from the moment the client sent the clip's last audio (before the
  padding: the stream's start + the clip's seconds, as the SDK paces it) to the last final
  result. Includes the engine's 0.6 s end-of-speech wait and the clip's own trailing silence.
- final after end: from the moment the client has sent its last audio event to the moment
  the stream is done (every final received). The engine waits 0.6 s of silence before a
  final by design; the silence padding means finals come out while audio still flows.
- events: results received (partials + finals) per stream.
Writes bench/results/stream_server-<timestamp>.json (git-ignored). Exit status 0: it is a
measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support import EmulatorProcess, audio_path  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"
CLIENT = REPO / "tests" / "streaming" / "amazon_transcribe_client.py"
DEFAULT_FILES = "jfk,ls_61-70968-0000,librivox_0870"
PADDING_S = 1.5


def write_clip(item_id: str, folder: Path) -> tuple[Path, float]:
    """The item as s16le mono 16 kHz with PADDING_S of silence after it; (path, seconds)."""
    from faster_whisper import decode_audio

    samples = decode_audio(str(audio_path(item_id)), sampling_rate=16000)
    samples = np.concatenate([samples, np.zeros(int(PADDING_S * 16000), dtype=np.float32)])
    path = folder / f"{item_id}.pcm"
    path.write_bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path, len(samples) / 16000


def stream_once(emulator: EmulatorProcess, pcm: Path, speech_s: float) -> dict:
    """One stream through the SDK; the client's JSON lines reduced to the figures above.
    speech_s: seconds of the clip before the silence padding."""
    env = {**os.environ, "SSL_CERT_FILE": str(emulator.ca_file)}
    command = [sys.executable, str(CLIENT), "--endpoint", emulator.https_endpoint, "--pcm", str(pcm)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    results = [line for line in lines if line.get("event") == "result"]
    sent = next((line["t"] for line in lines if line.get("event") == "sent"), None)
    done = next((line["t"] for line in lines if line.get("event") == "done"), None)
    headers = next((line["t"] for line in lines if line.get("event") == "headers"), 0.0)
    if sent is None or done is None:
        raise RuntimeError(f"stream did not complete: {run.stdout[-2000:]} {run.stderr[-2000:]}")
    worded = [r["t"] for r in results if r["result"]["alternatives"][0].get("transcript")]
    finals = [r for r in results if not r["result"].get("is_partial")]
    return {
        "first_words_s": worded[0] if worded else None,
        "final_after_end_s": round(done - sent, 3),
        "last_final_after_clip_s": round(finals[-1]["t"] - headers - speech_s, 3) if finals else None,
        "events": len(results),
        "finals": len(finals),
        "transcript": " ".join(r["result"]["alternatives"][0].get("transcript", "") for r in finals),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", default=DEFAULT_FILES, help="comma-separated manifest ids")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    items = args.files.split(",")
    runs: dict[str, list[dict]] = {item: [] for item in items}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = {item: write_clip(item, folder) for item in items}
        emulator = EmulatorProcess(folder / "data").start()
        try:
            stream_once(emulator, clips[items[0]][0], clips[items[0]][1] - PADDING_S)  # warm-up, not counted
            for _ in range(args.repeats):
                for item in items:  # interleaved, so drift in machine load spreads over all clips
                    runs[item].append(stream_once(emulator, clips[item][0], clips[item][1] - PADDING_S))
        finally:
            emulator.stop()
    print(f"{'clip':24} {'audio s':>8} {'first words s':>14} {'last final after clip s':>24} "
          f"{'final after end s':>18} {'events':>7}")
    summary = {}
    for item in items:
        first = statistics.median(r["first_words_s"] for r in runs[item] if r["first_words_s"] is not None)
        final = statistics.median(r["final_after_end_s"] for r in runs[item])
        last_final = statistics.median(r["last_final_after_clip_s"] for r in runs[item])
        events = statistics.median(r["events"] for r in runs[item])
        summary[item] = {"audio_s": round(clips[item][1], 2), "first_words_s": first,
                         "last_final_after_clip_s": last_final, "final_after_end_s": final, "events": events}
        print(f"{item:24} {clips[item][1]:8.2f} {first:14.3f} {last_final:24.3f} {final:18.3f} {events:7.0f}")
    pooled_first = statistics.median(s["first_words_s"] for s in summary.values())
    pooled_final = statistics.median(s["final_after_end_s"] for s in summary.values())
    pooled_last = statistics.median(s["last_final_after_clip_s"] for s in summary.values())
    print(f"{'median of clips':24} {'':8} {pooled_first:14.3f} {pooled_last:24.3f} {pooled_final:18.3f}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"stream_server-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"summary": summary, "runs": runs, "repo": str(REPO)}, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
