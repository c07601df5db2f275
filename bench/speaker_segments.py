"""Speaker segments of a transcript against the diarizer's own turns (issue 15).

    python bench/speaker_segments.py                      # collect (cached) and score
    python bench/speaker_segments.py --cache /tmp/seg     # where the recognizer's output is kept
    python bench/speaker_segments.py --recollect          # run the recognizer again
    python bench/speaker_segments.py --causes             # also the error by cause

A ShowSpeakerLabels job's `speaker_labels.segments` (emulator.service.speakers) are built from
the words (Whisper's) and the diarizer's turns. This bench scores both with the strict DER of
bench/batch.py (`_segment_der`: pyannote.metrics, no collar, overlapped speech scored) on the
synthetic meetings of bench/meetings.py, the shared `multispeaker` items and the long file
(nine talkers, 4.5 min), per item and pooled (sum of errors / sum of reference speech) over the
3-4-talker meetings, the 6-talker ones, the shared items and the long file. The references
differ in grain: the meetings' are exact (each recording's pauses over 0.3 s are not speech),
the AMI ones human, the long file's whole recordings (readers' pauses count as speech).

The slow part (recognition and diarization, the job's pipeline through emulator.oneshot with
MaxSpeakerLabels 10, as bench/batch.py --accuracy asks) runs once per item: the tokens speaker
labelling gets and the diarizer's turns are cached as JSON under --cache; scoring reruns
emulator.service.speakers on them (pure), so a change there is measured in seconds.

`--causes` adds variants that each change one thing on the cached words, so the difference
from `segments` is that cause's share: `pause-1s` (segments cut at 1 s pauses),
`oracle-labels` (each word the reference talker), `words-only` (each word its own segment: the
speech the words cover), `margin-0.2` (segments 0.2 s wider each side, as AWS's sometimes
are). A measurement, not a test: the exit status is 0 whatever the figures are. Figures with
their causes: the closing note of issue 15.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from emulator.engine.diarization import SpeakerTurn  # noqa: E402
from emulator.service.output import render_job_results  # noqa: E402
from emulator.service.tokens import Token  # noqa: E402

MAX_SPEAKERS = 10  # bench/batch.py --accuracy's MaxSpeakerLabels


def items(cache: Path) -> dict[str, tuple[Path, list[tuple[str, float, float]], float, str]]:
    """id -> (audio, reference turns (talker, start, end), duration, group)."""
    import meetings as synthetic

    from tests.support import audio_path, manifest

    out = {}
    mixes = cache / "mixes"
    for mix in synthetic.meetings():
        wav = mixes / f"{mix.id}.wav"
        if not wav.exists():
            synthetic.write(mix, mixes)
        group = "3-4 talkers" if len(mix.talkers) <= 4 else "6 talkers"
        out[mix.id] = (wav, [(t, s, e) for t, s, e in mix.turns], mix.duration, group)
    for item_id, item in manifest().items():
        if item["category"] in ("multispeaker", "long"):
            turns = []
            for line in open(audio_path(item_id).parent.parent / item["rttm"]):
                f = line.split()
                turns.append((f[7], float(f[3]), float(f[3]) + float(f[4])))
            out[item_id] = (
                audio_path(item_id),
                turns,
                item["duration"],
                "long" if item["category"] == "long" else "shared",
            )
    return out


def collect(audio: Path) -> dict:
    """The job pipeline's tokens as speaker labelling gets them and the diarizer's turns for
    one file (emulator.oneshot, MaxSpeakerLabels = MAX_SPEAKERS): label_speakers is wrapped
    to keep its arguments."""
    import emulator.service.pipeline as pipeline
    from emulator.config import Settings
    from emulator.oneshot import OneShot, Request

    seen: dict = {}
    real = pipeline.label_speakers

    def keep(tokens, turns):
        seen["tokens"], seen["turns"] = tokens, turns
        return real(tokens, turns)

    pipeline.label_speakers = keep
    try:
        OneShot(Settings()).transcribe(audio, Request(language_code="en-US", max_speaker_labels=MAX_SPEAKERS))
    finally:
        pipeline.label_speakers = real
    return {
        "tokens": [dataclasses.asdict(t) for t in seen["tokens"]],
        "turns": [dataclasses.asdict(t) for t in seen["turns"]],
    }


def load(cache: Path, item_id: str, audio: Path, again: bool) -> dict:
    path = cache / "recognized" / f"{item_id}.json"
    if again or not path.exists():
        print(f"recognizing {item_id} ...", file=sys.stderr, flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(collect(audio)))
    data = json.loads(path.read_text())
    data["tokens"] = [Token(**t) for t in data["tokens"]]
    data["turns"] = [SpeakerTurn(**t) for t in data["turns"]]
    return data


def segments_of(tokens: list[Token], turns: list[SpeakerTurn]) -> list[dict]:
    """`speaker_labels.segments` of a job with these tokens and turns."""
    labelled = _speakers().label_speakers(tokens, turns)
    return render_job_results(labelled, None, speakers=True)["speaker_labels"]["segments"]


# --- scoring ---------------------------------------------------------------------------------


class Pooled:
    """Strict DER per item and pooled by group (pyannote.metrics accumulates the components)."""

    def __init__(self):
        from pyannote.metrics.diarization import DiarizationErrorRate

        self.make = lambda: DiarizationErrorRate(collar=0.0, skip_overlap=False)
        self.groups: dict[str, object] = {}

    def score(self, group: str, reference, spans: list[tuple[str, float, float]], duration: float) -> dict:
        from pyannote.core import Annotation, Segment, Timeline

        hypothesis = Annotation()
        for label, start, end in spans:
            if end > start:
                hypothesis[Segment(start, end), len(hypothesis)] = label
        uem = Timeline([Segment(0, duration)])
        metric = self.groups.setdefault(group, self.make())
        components = metric(reference, hypothesis, uem=uem, detailed=True)
        return components

    def pooled(self, group: str) -> float:
        return abs(self.groups[group]) if group in self.groups else float("nan")


def reference_annotation(turns):
    from pyannote.core import Annotation, Segment

    reference = Annotation()
    for talker, start, end in turns:
        reference[Segment(start, end), len(reference)] = talker
    return reference


def der(components: dict) -> float:
    total = components["total"]
    return (components["missed detection"] + components["false alarm"] + components["confusion"]) / total


SYSTEMS: dict = {}  # name -> (data, reference turns) -> [(label, start, end)]
CAUSES = ["pause-1s", "oracle-labels", "words-only", "margin-0.2"]


def system(name):
    def register(fn):
        SYSTEMS[name] = fn
        return fn

    return register


def _spans(segments: list[dict]) -> list[tuple[str, float, float]]:
    return [(s["speaker_label"], float(s["start_time"]), float(s["end_time"])) for s in segments]


@contextmanager
def _patched(**values):
    """emulator.service.speakers with some names replaced (a variant of the job's rules)."""
    from emulator.service import speakers

    before = {name: getattr(speakers, name) for name in values}
    for name, value in values.items():
        setattr(speakers, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(speakers, name, value)


@system("turns")
def _turns(data, reference):
    """The diarizer's own turns."""
    return [(f"d{t.speaker}", t.start, t.end) for t in data["turns"]]


@system("segments")
def _segments(data, reference):
    """The job's speaker segments."""
    return _spans(segments_of(data["tokens"], data["turns"]))


@system("pause-1s")
def _pause_1s(data, reference):
    """Speaker segments cut at 1 s pauses of the speaker instead of SPEAKER_PAUSE."""
    from emulator.service.segmentation import PAUSE

    with _patched(SPEAKER_PAUSE=PAUSE):
        return _segments(data, reference)


@system("oracle-labels")
def _oracle_labels(data, reference):
    """Each word the reference talker it overlaps most (the reference's turns as the
    diarizer's): what is left is the segments' shape; the drop from `segments` is the error of
    the labels (the diarizer's confusion and words given the wrong turn at its edges)."""
    names: dict[str, int] = {}
    turns = [SpeakerTurn(names.setdefault(talker, len(names)), start, end) for talker, start, end in reference]
    return _spans(segments_of(data["tokens"], turns))


@system("words-only")
def _words_only(data, reference):
    """Each word its own segment, labelled as the job labels it: the speech the words cover
    (the rise in missed speech from `turns` is speech Whisper has no words for)."""
    labelled = _speakers().label_speakers(data["tokens"], data["turns"])
    return [(t.speaker, t.start, t.end) for t in labelled if t.kind == "pronunciation" and t.start is not None]


@system("margin-0.2")
def _margin(data, reference):
    """The job's segments 0.2 s wider on each side (AWS's reach a bit beyond their words)."""
    return [(label, max(0.0, start - 0.2), end + 0.2) for label, start, end in _segments(data, reference)]


def _speakers():
    from emulator.service import speakers

    return speakers


def missed_by_place(data: dict, reference: list[tuple[str, float, float]], duration: float) -> dict[str, float]:
    """Seconds of reference speech the diarizer's turns cover and the job's speaker segments
    do not (10 ms frames), by where they lie: `no words` (a turn with no word in it), `between
    runs` (between the first and the last word in that turn: segments cut there), `edges`
    (before the first or after the last word in that turn)."""
    import numpy as np

    frames = int(duration * 100) + 1
    speech = np.zeros(frames, bool)
    for _, start, end in reference:
        speech[int(start * 100) : int(end * 100)] = True
    turn_at = np.full(frames, -1)
    for i, turn in enumerate(data["turns"]):
        turn_at[int(turn.start * 100) : int(turn.end * 100)] = i
    segment = np.zeros(frames, bool)
    for _, start, end in _segments(data, reference):
        segment[int(start * 100) : int(end * 100)] = True
    labelled = _speakers().label_speakers(data["tokens"], data["turns"])
    words = [(t.start, t.end) for t in labelled if t.kind == "pronunciation" and t.start is not None]
    out = {"no words": 0.0, "between runs": 0.0, "edges": 0.0}
    for frame in np.flatnonzero(speech & (turn_at >= 0) & ~segment):
        turn = data["turns"][turn_at[frame]]
        inside = [w for w in words if w[1] > turn.start and w[0] < turn.end]
        at = frame / 100
        place = "no words" if not inside else "between runs" if inside[0][0] < at < inside[-1][1] else "edges"
        out[place] += 0.01
    out["reference speech"] = float(speech.sum()) / 100
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/speaker-segments"), help="recognizer output cache")
    parser.add_argument("--recollect", action="store_true", help="run the recognizer again")
    parser.add_argument("--causes", action="store_true", help="also the variants and missed speech by cause")
    parser.add_argument("--only", nargs="*", help="item ids")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    names = ["turns", "segments"] + (CAUSES if args.causes else [])
    scorers = {name: Pooled() for name in names}
    rows = []
    print(f"{'item':18} " + " ".join(f"{n:>15}" for n in names) + "   (strict DER %: miss/fa/conf)")
    for item_id, (audio, reference, duration, group) in items(args.cache).items():
        if args.only and item_id not in args.only:
            continue
        data = load(args.cache, item_id, audio, args.recollect)
        ref = reference_annotation(reference)
        row = {"item": item_id, "group": group}
        cells = []
        for name in names:
            c = scorers[name].score(group, ref, SYSTEMS[name](data, reference), duration)
            row[name] = {k: c[k] for k in ("total", "missed detection", "false alarm", "confusion")}
            cells.append(
                f"{100 * der(c):5.1f} ({100 * c['missed detection'] / c['total']:.0f}/"
                f"{100 * c['false alarm'] / c['total']:.0f}/{100 * c['confusion'] / c['total']:.0f})"
            )
        if args.causes:
            row["missed"] = missed_by_place(data, reference, duration)
        rows.append(row)
        print(f"{item_id:18} " + " ".join(f"{c:>15}" for c in cells), flush=True)
    print()
    groups = ("3-4 talkers", "6 talkers", "shared", "long")
    print(f"{'pooled strict DER %':24} " + " ".join(f"{g:>12}" for g in groups))
    for n in names:
        print(f"{n:24} " + " ".join(f"{100 * scorers[n].pooled(g):12.1f}" for g in groups))
    if args.causes:
        print("\nreference speech in the turns but in no speaker segment, seconds (share of the reference speech)")
        for group in groups:
            sums: dict[str, float] = {}
            for row in (r for r in rows if r["group"] == group):
                for key, seconds in row["missed"].items():
                    sums[key] = sums.get(key, 0.0) + seconds
            if sums:
                total = sums.pop("reference speech")
                print(f"{group:24} " + ", ".join(f"{k} {v:.1f} ({100 * v / total:.1f} %)" for k, v in sums.items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
