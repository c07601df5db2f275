"""Streaming engine benchmark: StreamingTranscriber replayed at real-time pace against batch
faster-whisper (Recognizer.transcribe) on the same audio and machine.

    python bench/streaming.py            # full run (~12 min): 32 English clips + the long file, then 2 streams at once
    python bench/streaming.py --quick    # smoke run (~3 min): 6 clips, 2 x 30 s concurrent

Run from the repository root with the project's virtualenv (it imports `tests.support`;
needs jiwer, whisper-normalizer and psutil). Prints a table per file, pooled figures and the
concurrency test; writes everything to bench/results/streaming-<timestamp>.json
(git-ignored). The exit status is 0 even when a target is missed: it is a measurement.

How a stream is replayed (as the server drives the engine): each file is decoded to 16 kHz
mono, 0.5 s of silence is put before it and 1.5 s after it, and it is cut into 100 ms chunks.
A feeder thread hands chunk k to a queue at t0 + (k + 1) x 100 ms (when a live client would
have it); one consumer thread per stream takes chunks one at a time and calls
`accept(chunk)` (the server's worker thread), then `finish()` after the last one.

Figures (wall-clock, per result_id). "Speech begins / ends" comes from Silero VAD run
offline over the whole stream (unpadded, split at 100 ms pauses), independent of the
engine's own timing:
- first partial: from the moment the chunk holding the first speech of the result was sent,
  to the first result of that result_id that has words (a partial, or the final if no
  partial had words). Results that start inside speech (after a cut) are not counted.
  Target <= 1.0 s.
- final: from the moment the chunk holding the last speech of the result was sent, to the
  final's emission. The engine waits `end_silence_s` (0.6 s) of silence by design. Finals
  cut inside speech (max_utterance_s) are not counted. Target <= 1.5 s.
- WER of the finals (joined) against the manifest text, pooled (errors / reference words)
  after Whisper's English normaliser, vs batch = Recognizer.transcribe of the whole file
  (tiny.en, beam 5, VAD, word timestamps). Target: stream <= batch + 2 points.
- lag: how late the consumer starts on a chunk (queueing behind slow decodes); end lag:
  finish() returning vs the last chunk's due time. "Without falling behind": end lag small.
- busy / batch: seconds the engine spent in accept/finish over the seconds batch took for
  the same file (the cost of incremental decoding).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS_DIR = REPO / "bench" / "results"
CHUNK_S = 0.1
LEAD_S, TAIL_S = 0.5, 1.5
FIRST_PARTIAL_MAX_S = 1.0
FINAL_MAX_S = 1.5
WER_MARGIN = 0.02
CONCURRENT = ["sonnet_001", "sonnet_002"]
WARMUP = "sb_spk1_snt1"  # a clip to warm the model up before timing
QUICK_CLIPS = ["jfk", "librivox_0870", "ls_61-70968-0000", "cards_005", "cv_en_22058264", "sb_spk1_snt2"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


def pooled_wer(refs: list[str], hyps: list[str]) -> float:
    """Errors over reference words, summed over the files (README of shared/audio)."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalise = EnglishTextNormalizer()
    pairs = [(normalise(r), normalise(h)) for r, h in zip(refs, hyps)]
    pairs = [(r, h) for r, h in pairs if r.strip()]
    return jiwer.wer([r for r, _ in pairs], [h for _, h in pairs])


class Contention:
    """CPU used by other processes than this one, as a share of all cores, over a span."""

    def __init__(self):
        import psutil

        self._psutil = psutil
        self._t = time.perf_counter()
        self._busy = self._machine_busy()
        self._own = self._own_cpu()

    def _machine_busy(self) -> float:
        t = self._psutil.cpu_times()
        return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)

    def _own_cpu(self) -> float:
        t = self._psutil.Process().cpu_times()
        return t.user + t.system

    def stop(self) -> dict:
        wall = time.perf_counter() - self._t
        busy = self._machine_busy() - self._busy
        own = self._own_cpu() - self._own
        cores = os.cpu_count() or 1
        return {
            "wall_s": wall,
            "own_cpu_s": own,
            "other_cpu_s": max(0.0, busy - own),
            "other_share": max(0.0, busy - own) / (wall * cores) if wall else 0.0,
            "loadavg": os.getloadavg(),
        }


# --------------------------------------------------------------------------------------
# replay
# --------------------------------------------------------------------------------------


def stream_audio(samples: np.ndarray) -> np.ndarray:
    from emulator.engine.media import SAMPLE_RATE

    lead = np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32)
    tail = np.zeros(int(TAIL_S * SAMPLE_RATE), np.float32)
    return np.concatenate([lead, samples.astype(np.float32), tail])


def replay(transcriber, audio: np.ndarray, t0: float, fast: bool = False, coalesce: bool = False) -> dict:
    """Feeds `audio` in 100 ms chunks on the real-time schedule starting at t0 (a feeder
    thread; `fast`: all at once) to `transcriber` (this thread), one accept() per chunk, or
    (`coalesce`) one accept() for all the chunks waiting. Returns timings and results."""
    from emulator.engine.media import SAMPLE_RATE

    n = int(CHUNK_S * SAMPLE_RATE)
    chunks = [audio[i : i + n] for i in range(0, len(audio), n)]
    inbox: queue.Queue = queue.Queue()

    def due(k: int) -> float:
        return t0 if fast else t0 + (k + 1) * CHUNK_S

    def feed() -> None:
        for k, chunk in enumerate(chunks):
            delay = due(k) - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            inbox.put((k, chunk))
        inbox.put(None)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    emitted: list[tuple[float, object]] = []
    lags: list[float] = []
    busy = 0.0
    done = False
    while not done:
        k, chunk = inbox.get() or (None, None)
        if k is None:
            break
        if coalesce:
            parts = [chunk]
            while not inbox.empty():
                nxt = inbox.get()
                if nxt is None:
                    done = True
                    break
                k, c = nxt
                parts.append(c)
            chunk = np.concatenate(parts)
        start = time.perf_counter()
        lags.append(start - due(k))
        results = transcriber.accept(chunk)
        end = time.perf_counter()
        busy += end - start
        emitted.extend((end, r) for r in results)
    start = time.perf_counter()
    results = transcriber.finish()
    end = time.perf_counter()
    busy += end - start
    emitted.extend((end, r) for r in results)
    feeder.join()
    return {
        "emitted": emitted,
        "lags": lags,
        "end_lag_s": end - due(len(chunks) - 1),
        "busy_s": busy,
        "due": due,
    }


def speech_regions(audio: np.ndarray) -> list[tuple[float, float]]:
    """Where speech is, by Silero VAD over the whole stream (offline, unpadded, split at
    pauses of 100 ms): the reference for "speech begins" and "utterance ends"."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    from emulator.engine.media import SAMPLE_RATE

    found = get_speech_timestamps(audio.copy(), VadOptions(min_silence_duration_ms=100, speech_pad_ms=0))
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in found]


def analyse(run: dict, regions: list[tuple[float, float]]) -> dict:
    """Per-utterance latencies and the final transcript of one replay. regions: speech_regions
    of the stream. A final whose end falls inside a speech region is a cut (max_utterance_s),
    not the end of an utterance: it gets no final latency; the result after it starts inside
    speech: it gets no first-partial latency."""
    due = run["due"]

    def sent_at(t: float) -> float:  # when the chunk holding stream time t was handed over
        return due(int(t / CHUNK_S))

    by_id: dict[str, list[tuple[float, object]]] = {}
    for at, r in run["emitted"]:
        by_id.setdefault(r.result_id, []).append((at, r))
    utterances = []
    finals = []
    problems = []
    for rid, items in by_id.items():
        final = [(at, r) for at, r in items if not r.is_partial]
        if len(final) != 1:
            problems.append(f"{rid}: {len(final)} finals")
            continue
        f_at, f = final[0]
        finals.append(f)
        if not f.words:
            continue
        first = min(at for at, r in items if r.words)
        speech = [(a, b) for a, b in regions if b > f.start and a < f.end]
        begins = max(f.start, speech[0][0]) if speech else f.words[0].start
        ends = min(f.end, speech[-1][1]) if speech else f.words[-1].end
        cut = any(a < f.end - 0.05 and b > f.end + 0.05 for a, b in regions)
        continued = any(a < f.start - 0.05 and b > f.start + 0.05 for a, b in regions)
        utterances.append({
            "result_id": rid,
            "speech_begins_s": None if continued else begins,
            "speech_ends_s": None if cut else ends,
            "first_partial_latency_s": None if continued else first - sent_at(begins),
            "final_latency_s": None if cut else f_at - sent_at(ends),
            "partials": sum(1 for _, r in items if r.is_partial),
            "text": f.text,
        })
    finals.sort(key=lambda r: r.start)
    return {
        "utterances": utterances,
        "text": " ".join(r.text for r in finals if r.text),
        "finals": len(finals),
        "partials": sum(1 for _, r in run["emitted"] if r.is_partial),
        "problems": problems,
        "max_lag_s": max(run["lags"]) if run["lags"] else 0.0,
        "end_lag_s": run["end_lag_s"],
        "busy_s": run["busy_s"],
    }


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def make_recognizer(store_dir: Path, workers: int, cpu_threads: int):
    from emulator.engine.recognizer import ModelLoadOptions, Recognizer
    from emulator.storage.models import ModelStore

    models = ModelStore(store_dir)
    recognizer = Recognizer(models.resolve, ModelLoadOptions(cpu_threads=cpu_threads, num_workers=workers))
    # Loaded on a helper thread, as the emulator does (OpenMP thread placement; bench/batch.py).
    loader = threading.Thread(target=recognizer.model, args=(models.model_for_language("en"),))
    loader.start()
    loader.join()
    return recognizer, models.model_for_language("en")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="6 clips, no long file, 30 s concurrent streams")
    parser.add_argument("--files", help="comma-separated manifest ids instead of the default set")
    parser.add_argument("--stability", choices=["none", "low", "medium", "high"], default="none")
    parser.add_argument("--concurrent-seconds", type=float, default=None,
                        help="seconds of each concurrent stream (default: whole sonnets; --quick: 30)")
    parser.add_argument("--skip-concurrency", action="store_true")
    parser.add_argument("--fast", action="store_true",
                        help="feed the audio as fast as possible (WER and cost only; latencies meaningless)")
    parser.add_argument("--coalesce", action="store_true",
                        help="the consumer passes all chunks waiting to one accept() (default: one per chunk)")
    parser.add_argument("--workers", type=int, default=1, help="model num_workers of the single-stream phase")
    parser.add_argument("--cpu-threads", type=int, default=0, help="CTranslate2 threads (0: cores // workers)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a StreamingOptions tuning field, e.g. --option step_s=0.7 (repeatable)")
    args = parser.parse_args()

    from emulator.engine.media import SAMPLE_RATE, decode
    from emulator.engine.recognizer import RecognitionOptions
    from emulator.engine.streaming import StreamingOptions, StreamingTranscriber
    from tests.support import audio_path, manifest

    items = manifest()
    if args.files:
        file_ids = args.files.split(",")
    elif args.quick:
        file_ids = QUICK_CLIPS
    else:
        long_id = next(i for i, it in items.items() if it["category"] == "long")
        clips = [i for i, it in items.items()
                 if it["category"] == "utterance_en" and it["duration"] < 20 and not it.get("exclude_from_wer")]
        file_ids = [*clips, long_id]
    tuning = {}
    for spec in args.option:
        name, value = spec.split("=", 1)
        tuning[name] = type(getattr(StreamingOptions(language="en"), name))(value) if "," not in value else \
            tuple(float(v) for v in value.split(","))
    stability = None if args.stability == "none" else args.stability
    cores = os.cpu_count() or 1
    started = datetime.now()
    report: dict = {
        "benchmark": "streaming",
        "started": started.isoformat(timespec="seconds"),
        "host": {"cpu_count": cores, "platform": platform.platform(), "python": platform.python_version(),
                 "loadavg_at_start": os.getloadavg()},
        "settings": {"chunk_s": CHUNK_S, "lead_s": LEAD_S, "tail_s": TAIL_S, "stability": stability,
                     "tuning": tuning},
        "targets": {"first_partial_max_s": FIRST_PARTIAL_MAX_S, "final_max_s": FINAL_MAX_S,
                    "wer_margin": WER_MARGIN},
    }
    audio = {i: decode(audio_path(i)) for i in [*file_ids, *CONCURRENT, WARMUP]}
    work = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    threads = args.cpu_threads or max(1, cores // args.workers)
    recognizer, model_name = make_recognizer(work / "model-store", workers=args.workers, cpu_threads=threads)
    report["settings"].update(workers=args.workers, cpu_threads=threads, fast=args.fast, coalesce=args.coalesce)
    options = StreamingOptions(language="en", model_name=model_name, stability=stability, **tuning)
    report["settings"]["options"] = asdict(options)

    # ---- 1. batch baseline ------------------------------------------------------------
    print(f"[1/3] batch: Recognizer.transcribe (beam 5, VAD) on {len(file_ids)} files ...", flush=True)
    recognizer.transcribe(audio[WARMUP], model_name, RecognitionOptions(language="en"))  # warm-up
    contention = Contention()
    batch: dict[str, dict] = {}
    for i in file_ids:
        t = time.perf_counter()
        tr = recognizer.transcribe(audio[i], model_name, RecognitionOptions(language="en", beam_size=5))
        batch[i] = {"seconds": time.perf_counter() - t, "text": " ".join(s.text for s in tr.segments)}
    report["contention_batch"] = contention.stop()

    # ---- 2. one stream at a time, real-time pace ---------------------------------------
    total = sum(len(audio[i]) / SAMPLE_RATE + LEAD_S + TAIL_S for i in file_ids)
    print(f"[2/3] streaming, one stream at a time, real-time pace ({total:.0f} s of audio) ...", flush=True)
    contention = Contention()
    rows = []
    for i in file_ids:
        transcriber = StreamingTranscriber(recognizer, options)
        streamed = stream_audio(audio[i])
        run = replay(transcriber, streamed, time.perf_counter(), fast=args.fast, coalesce=args.coalesce)
        a = analyse(run, speech_regions(streamed))
        ref = items[i].get("text") or ""
        row = {
            "id": i,
            "audio_s": len(audio[i]) / SAMPLE_RATE,
            "batch_s": batch[i]["seconds"],
            "batch_text": batch[i]["text"],
            "stream_text": a["text"],
            "reference": ref,
            "batch_wer": pooled_wer([ref], [batch[i]["text"]]),
            "stream_wer": pooled_wer([ref], [a["text"]]),
            **{k: a[k] for k in ("finals", "partials", "problems", "max_lag_s", "end_lag_s", "busy_s", "utterances")},
        }
        rows.append(row)
        fp = [u["first_partial_latency_s"] for u in a["utterances"] if u["first_partial_latency_s"] is not None]
        fl = [u["final_latency_s"] for u in a["utterances"] if u["final_latency_s"] is not None]
        print(f"      {i[:26]:<27}{row['audio_s']:6.1f} s  finals {a['finals']:>2}  first partial "
              f"{max(fp) if fp else float('nan'):5.2f} s  final {max(fl) if fl else float('nan'):5.2f} s  "
              f"WER {row['stream_wer'] * 100:5.1f} (batch {row['batch_wer'] * 100:5.1f})", flush=True)
    report["contention_stream"] = contention.stop()
    report["files"] = rows

    # ---- 3. two streams at once ---------------------------------------------------------
    concurrency = []
    if not args.skip_concurrency:
        seconds = args.concurrent_seconds or (30.0 if args.quick else None)
        print(f"[3/3] two real-time streams at once ({', '.join(CONCURRENT)}) ...", flush=True)
        for workers, threads in ((1, cores), (2, max(1, cores // 2))):  # the emulator's default, and --workers 2
            same = (workers, threads) == (args.workers, report["settings"]["cpu_threads"])
            rec = recognizer if same else make_recognizer(work / "model-store", workers, threads)[0]
            contention = Contention()
            t0 = time.perf_counter() + 0.2
            outcome: dict[str, dict] = {}

            def one(item_id: str, rec=rec, t0=t0, outcome=outcome) -> None:
                samples = audio[item_id] if seconds is None else audio[item_id][: int(seconds * SAMPLE_RATE)]
                streamed = stream_audio(samples)
                run = replay(StreamingTranscriber(rec, options), streamed, t0, coalesce=args.coalesce)
                a = analyse(run, speech_regions(streamed))
                ref = items[item_id]["text"] if seconds is None else None
                outcome[item_id] = {
                    "audio_s": len(samples) / SAMPLE_RATE,
                    "stream_wer": pooled_wer([ref], [a["text"]]) if ref else None,
                    **{k: a[k] for k in ("finals", "partials", "max_lag_s", "end_lag_s", "busy_s", "utterances")},
                }

            threads_ = [threading.Thread(target=one, args=(i,)) for i in CONCURRENT]
            for th in threads_:
                th.start()
            for th in threads_:
                th.join()
            concurrency.append({"num_workers": workers, "cpu_threads": threads, "streams": outcome,
                                "contention": contention.stop()})
    report["concurrency"] = concurrency
    report["host"]["loadavg_at_end"] = os.getloadavg()
    print_report(report, rows, concurrency)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"streaming-{started.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"\nJSON: {out.relative_to(REPO)}")
    return 0


def print_report(report: dict, rows: list[dict], concurrency: list[dict]) -> None:
    h = report["host"]
    o = report["settings"]["options"]
    print()
    print(f"Streaming benchmark, {report['started']}, {h['cpu_count']} CPUs, load average "
          f"{h['loadavg_at_start'][0]:.2f} at start / {h['loadavg_at_end'][0]:.2f} at end")
    print(f"model {o['model_name']} int8; stability {o['stability']}; step {o['step_s']} s, end silence "
          f"{o['end_silence_s']} s, partial beam {o['partial_beam_size']}, final beam {o['final_beam_size']}, "
          f"min context {o['min_context_s']} s")
    st = report["settings"]
    print(f"model num_workers {st['workers']}, cpu_threads {st['cpu_threads']}; 100 ms chunks "
          f"{'fed as fast as possible (latencies meaningless)' if st['fast'] else 'at real-time pace'}, "
          f"{'waiting chunks coalesced into one accept()' if st['coalesce'] else 'one accept() per chunk'}")
    print("batch = Recognizer.transcribe (faster-whisper, beam 5, VAD) on the whole file")
    print("first/final = latency in s per utterance (median / max); lag = consumer behind schedule, max / at end")
    print()
    head = (f"{'file':<26}{'audio s':>8}{'utt':>4}{'part':>5}{'first med/max':>15}{'final med/max':>15}"
            f"{'lag max/end':>13}{'busy/batch':>11}{'WER str':>8}{'batch':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        fp = [u["first_partial_latency_s"] for u in r["utterances"] if u["first_partial_latency_s"] is not None] or [float("nan")]
        fl = [u["final_latency_s"] for u in r["utterances"] if u["final_latency_s"] is not None] or [float("nan")]
        print(f"{r['id'][:25]:<26}{r['audio_s']:>8.1f}{r['finals']:>4}{r['partials']:>5}"
              f"{statistics.median(fp):>7.2f}/{max(fp):<7.2f}{statistics.median(fl):>7.2f}/{max(fl):<7.2f}"
              f"{r['max_lag_s']:>6.2f}/{r['end_lag_s']:<6.2f}{r['busy_s'] / r['batch_s']:>11.2f}"
              f"{r['stream_wer'] * 100:>8.1f}{r['batch_wer'] * 100:>7.1f}")
        for p in r["problems"]:
            print(f"    problem: {p}")
    utts = [u for r in rows for u in r["utterances"]]
    fp = [u["first_partial_latency_s"] for u in utts if u["first_partial_latency_s"] is not None]
    fl = [u["final_latency_s"] for u in utts if u["final_latency_s"] is not None]
    stream_wer = pooled_wer([r["reference"] for r in rows], [r["stream_text"] for r in rows])
    batch_wer = pooled_wer([r["reference"] for r in rows], [r["batch_text"] for r in rows])
    busy = sum(r["busy_s"] for r in rows)
    batch_s = sum(r["batch_s"] for r in rows)
    audio_s = sum(r["audio_s"] for r in rows)
    checks = {"WER stream <= batch + 2 points": stream_wer <= batch_wer + WER_MARGIN}
    if not report["settings"]["fast"]:
        checks["first partial p90 <= 1.0 s"] = percentile(fp, 90) <= FIRST_PARTIAL_MAX_S
        checks["final p90 <= 1.5 s"] = percentile(fl, 90) <= FINAL_MAX_S
    print()
    print(f"Pooled over {len(rows)} files, {len(utts)} utterances, {audio_s:.0f} s of audio:")
    print(f"  first partial latency: median {statistics.median(fp):.2f} s, p90 {percentile(fp, 90):.2f} s, "
          f"max {max(fp):.2f} s; within {FIRST_PARTIAL_MAX_S} s: {sum(x <= FIRST_PARTIAL_MAX_S for x in fp)}/{len(fp)}")
    print(f"  final latency:         median {statistics.median(fl):.2f} s, p90 {percentile(fl, 90):.2f} s, "
          f"max {max(fl):.2f} s; within {FINAL_MAX_S} s: {sum(x <= FINAL_MAX_S for x in fl)}/{len(fl)}")
    print(f"  WER: stream {stream_wer * 100:.2f} %, batch {batch_wer * 100:.2f} %, "
          f"difference {(stream_wer - batch_wer) * 100:+.2f} points")
    print(f"  engine busy {busy:.1f} s for {audio_s:.0f} s of audio (RTF {busy / audio_s:.3f}); "
          f"batch {batch_s:.1f} s (RTF {batch_s / audio_s:.3f}); busy / batch = {busy / batch_s:.2f}")
    report["pooled"] = {"first_partial_s": {"median": statistics.median(fp), "p90": percentile(fp, 90), "max": max(fp)},
                        "final_s": {"median": statistics.median(fl), "p90": percentile(fl, 90), "max": max(fl)},
                        "stream_wer": stream_wer, "batch_wer": batch_wer, "busy_s": busy, "batch_s": batch_s,
                        "audio_s": audio_s}
    for c in concurrency:
        print()
        print(f"Two streams at once, num_workers={c['num_workers']}, cpu_threads={c['cpu_threads']} "
              f"(others used {c['contention']['other_share'] * 100:.0f} % of the CPU meanwhile):")
        for i, s in c["streams"].items():
            fp = [u["first_partial_latency_s"] for u in s["utterances"] if u["first_partial_latency_s"] is not None] or [float("nan")]
            fl = [u["final_latency_s"] for u in s["utterances"] if u["final_latency_s"] is not None] or [float("nan")]
            wer = f"{s['stream_wer'] * 100:.1f} %" if s["stream_wer"] is not None else "n/a"
            print(f"  {i:<14} {s['audio_s']:5.1f} s  lag max {s['max_lag_s']:5.2f} s, at end {s['end_lag_s']:5.2f} s; "
                  f"first partial med {statistics.median(fp):.2f} max {max(fp):.2f}; final med "
                  f"{statistics.median(fl):.2f} max {max(fl):.2f}; busy RTF {s['busy_s'] / s['audio_s']:.2f}; WER {wer}")
        checks[f"2 streams, workers={c['num_workers']}: end lag <= 1.5 s"] = all(
            s["end_lag_s"] <= FINAL_MAX_S for s in c["streams"].values())
    print()
    for phase in ("contention_batch", "contention_stream"):
        c = report[phase]
        flag = "  <- noisy" if c["other_share"] > 0.10 else ""
        print(f"{phase.split('_')[1]:<7} phase: other processes used {c['other_share'] * 100:4.0f} % of the CPU "
              f"({c['other_cpu_s']:.0f} CPU-s in {c['wall_s']:.0f} s){flag}")
    print()
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    report["checks"] = checks


if __name__ == "__main__":
    sys.exit(main())
