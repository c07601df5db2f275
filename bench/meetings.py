"""Synthetic meetings mixed from the shared audio's talkers, with exact references (issue 15).

    python bench/meetings.py --out /tmp/meetings      # writes <id>.wav, <id>.rttm, meetings.json
    python bench/meetings.py --list                   # prints the set without writing audio

Nobody tuned the diarizer to these: they are built from whole recordings of eight talkers
of ../shared/audio (or $TRANSCRIBE_EMULATOR_TEST_AUDIO) with a fixed seed, so every run
builds the same samples.

* `meetings()`: mono 16 kHz conversations of 3, 4 and 6 talkers, about 30 s each. A turn is
  one whole recording of its talker (1 to 10 s of speech after trimming); talkers change at
  every turn, and every talker has a turn (a back-channel is not one); the gap before a turn is a pause of 0.2 to 5 s (mostly under 1.5 s) or, with
  the meeting's overlap probability, an overlap of 0.3 to 1.5 s with the turn before (0 to
  20 % of the speech ends up overlapped); back-channels (the first burst of speech, 0.2 to
  0.7 s, of another talker's recording, as a "yeah" is) fall inside a turn or a pause.
  Levels: each recording at -23 dBFS RMS +- 3 dB, white noise at -65 dBFS underneath.
* `short_pairs()`: two talkers one after the other in 5 to 8 s, as AWS's recorded
  LocalStack clip (2.2 s, a 0.37 s pause, 3.3 s; that audio is not among the shared files,
  only its transcript).
* `stereo_mixes()`: two talkers in one room, each loud on his own channel and -12 dB on the
  other's; the per-channel reference is that talker's words. `stereo_mixes(room=True)`: the
  same, the leak through a room (delayed, reverberant) rather than a scaled copy.

The RTTM is exact by construction: each recording's speech is found on the clean recording
(20 ms frames louder than its loudest frame - 35 dB and its noise + 10 dB, gaps under
0.3 s closed) and placed at
the offset it is mixed at; overlapped speech carries both talkers. Texts are the manifest's
references of the recordings in the order they start (back-channels have no text).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from emulator.engine.media import SAMPLE_RATE, decode  # noqa: E402
from tests.support import audio_path, manifest, write_wav  # noqa: E402

SEED = 15
# Talkers of the shared audio with a reference text per recording.
TALKERS = {
    "jfk": ["jfk"],
    "ls61": ["ls_61-70968-0000"],
    "austen": ["librivox_0870", "librivox_0880", "librivox_0890", "librivox_0920", "librivox_0930"],
    "an4": ["an4_10001-90210-01803"],
    "mfa": [f"mfa_multilingual_ipa_us{s}" for s in ("", "_2", "_3", "_4", "_5")],
    "sb1": [f"sb_spk1_snt{i}" for i in range(1, 6)],
    "sb2": [f"sb_spk2_snt{i}" for i in range(1, 6)],
    "sonnets": ["sonnet_001_first9s_ogg"],
}
MEETING_PLAN = [(3, 0.0), (3, 0.3), (3, 0.5), (4, 0.0), (4, 0.3), (4, 0.5), (6, 0.2), (6, 0.4)]  # (talkers, P(overlap))
MEETING_SECONDS = 30.0
LEVEL_DBFS = -23.0
NOISE_DBFS = -65.0
CROSSTALK_DB = -12.0
ROOM_DELAY = 0.003  # seconds: about 1 m more path to the other microphone
ROOM_T60 = 0.3  # seconds: a small office
_FRAME = SAMPLE_RATE // 50  # 20 ms


@dataclass(frozen=True)
class Clip:
    """One recording, trimmed to its speech: samples at 16 kHz, speech (start, end) seconds
    within them, its reference text."""

    item: str
    talker: str
    samples: np.ndarray
    speech: tuple[tuple[float, float], ...]
    text: str


@dataclass
class Mix:
    """A synthetic recording. samples: (n,) mono or (2, n) stereo float32 16 kHz;
    turns: exact reference (talker, start, end) seconds, sorted by start, overlaps allowed;
    text: the words in the order spoken; channel_text: per channel (stereo only);
    solo: (2, n) each talker's track without crosstalk (stereo only)."""

    id: str
    samples: np.ndarray
    turns: list[tuple[str, float, float]]
    text: str
    talkers: list[str]
    channel_text: list[str] = field(default_factory=list)
    solo: np.ndarray | None = None

    @property
    def duration(self) -> float:
        return self.samples.shape[-1] / SAMPLE_RATE

    def overlap_share(self) -> float:
        """Overlapped speech over all speech (seconds where 2+ talkers speak / seconds where any does)."""
        grid = np.zeros(int(self.duration * 100) + 1, dtype=int)
        for _, start, end in self.turns:
            grid[int(start * 100) : int(end * 100)] += 1
        speech = int((grid > 0).sum())
        return float((grid > 1).sum() / speech) if speech else 0.0

    def rttm(self) -> str:
        return "".join(
            f"SPEAKER {self.id} 1 {start:.3f} {end - start:.3f} <NA> <NA> {talker} <NA> <NA>\n"
            for talker, start, end in self.turns
        )


def speech_spans(
    samples: np.ndarray, floor_db: float = 35.0, above_noise_db: float = 10.0, gap: float = 0.3
) -> list[tuple[float, float]]:
    """(start, end) seconds of the 20 ms frames within `floor_db` of the loudest frame and
    `above_noise_db` over the recording's noise (its 5th percentile frame; some recordings
    hiss at -45 dBFS), gaps under `gap` seconds closed."""
    count = len(samples) // _FRAME
    frames = samples[: count * _FRAME].reshape(count, _FRAME).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    noise = float(np.percentile(level, 5))
    loud = level > max(level.max() - floor_db, noise + above_noise_db, -60.0)
    spans: list[list[float]] = []
    for i in np.flatnonzero(loud):
        start, end = i * _FRAME / SAMPLE_RATE, (i + 1) * _FRAME / SAMPLE_RATE
        if spans and start - spans[-1][1] < gap:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [(s, e) for s, e in spans]


def load_clip(item: str, talker: str) -> Clip:
    samples = decode(audio_path(item))
    spans = speech_spans(samples)
    first, last = int(spans[0][0] * SAMPLE_RATE), int(spans[-1][1] * SAMPLE_RATE)
    offset = spans[0][0]
    samples = samples[first:last]
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    samples = (samples * (10 ** (LEVEL_DBFS / 20) / max(rms, 1e-9))).astype(np.float32)
    speech = tuple((round(s - offset, 3), round(e - offset, 3)) for s, e in spans)
    return Clip(item, talker, samples, speech, manifest()[item]["text"])


def _clips() -> dict[str, list[Clip]]:
    return {talker: [load_clip(item, talker) for item in items] for talker, items in TALKERS.items()}


class _Track:
    """A growing mono mix and its reference."""

    def __init__(self):
        self.samples = np.zeros(0, dtype=np.float32)
        self.turns: list[tuple[str, float, float]] = []
        self.words: list[tuple[float, str]] = []

    def add(self, clip: Clip, at: float, gain_db: float = 0.0, samples: np.ndarray | None = None, text=True):
        audio = clip.samples if samples is None else samples
        begin = int(round(at * SAMPLE_RATE))
        end = begin + len(audio)
        if end > len(self.samples):
            self.samples = np.concatenate([self.samples, np.zeros(end - len(self.samples), np.float32)])
        self.samples[begin:end] += audio * np.float32(10 ** (gain_db / 20))
        length = len(audio) / SAMPLE_RATE
        for start, stop in clip.speech:
            if start < length:
                self.turns.append((clip.talker, round(at + start, 3), round(at + min(stop, length), 3)))
        if text:
            self.words.append((at, clip.text))

    @property
    def end(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _finish(track: _Track, rng: np.random.Generator, mix_id: str, talkers: list[str], tail: float = 0.5) -> Mix:
    samples = np.concatenate([track.samples, np.zeros(int(tail * SAMPLE_RATE), np.float32)])
    samples = samples + rng.normal(0, 10 ** (NOISE_DBFS / 20), len(samples)).astype(np.float32)
    text = " ".join(t for _, t in sorted(track.words, key=lambda w: w[0]))
    return Mix(mix_id, samples, sorted(track.turns, key=lambda t: (t[1], t[0])), text, talkers)


def _backchannel(clip: Clip, rng: np.random.Generator) -> tuple[Clip, np.ndarray]:
    """The first 0.2-0.7 s of speech of `clip`, faded, as a short interjection."""
    length = float(np.clip(min(clip.speech[0][1], rng.uniform(0.2, 0.7)), 0.2, 0.7))
    n = int(length * SAMPLE_RATE)
    fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.02 * SAMPLE_RATE)).astype(np.float32)
    piece = clip.samples[:n] * fade
    return Clip(clip.item, clip.talker, piece, ((0.0, length),), ""), piece


def _pause(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.2, 1.5) if rng.random() < 0.75 else rng.uniform(1.5, 5.0))


def meetings(seed: int = SEED) -> list[Mix]:
    """The meeting set of MEETING_PLAN (see the module docstring)."""
    rng = np.random.default_rng(seed)
    clips = _clips()
    out = []
    for index, (count, p_overlap) in enumerate(MEETING_PLAN):
        talkers = [str(t) for t in rng.choice(sorted(TALKERS), size=count, replace=False)]
        cursor = {t: int(rng.integers(len(clips[t]))) for t in talkers}
        track = _Track()
        previous, last_len, at, tries = None, 0.0, 0.0, 0
        order: list[str] = list(rng.permutation(talkers))  # everyone speaks early on
        spoke: set[str] = set()  # talkers who have had a turn (a back-channel is not one)
        while True:
            talker = order.pop(0) if order else str(rng.choice([t for t in talkers if t != previous]))
            clip = clips[talker][cursor[talker] % len(clips[talker])]
            cursor[talker] += 1
            if track.turns:
                if rng.random() < p_overlap:
                    longest = min(1.5, 0.4 * min(last_len, clip.samples.size / SAMPLE_RATE))
                    at = track.end - float(rng.uniform(0.3, longest))
                else:
                    at = track.end + _pause(rng)
            if at + len(clip.samples) / SAMPLE_RATE > MEETING_SECONDS and len(spoke) == count:
                tries += 1
                if at > MEETING_SECONDS - 6 or tries > 8:
                    break
                continue  # too long to end near 30 s: another talker's turn
            track.add(clip, at)
            spoke.add(talker)
            if rng.random() < 0.35:  # someone else says "yeah"
                other = str(rng.choice([t for t in talkers if t != talker]))
                short, piece = _backchannel(clips[other][int(rng.integers(len(clips[other])))], rng)
                length = len(clip.samples) / SAMPLE_RATE
                where = at + float(rng.uniform(0.2, max(0.3, length - 0.8)))
                track.add(short, where, samples=piece, text=False)
            previous, last_len = talker, len(clip.samples) / SAMPLE_RATE
        out.append(_finish(track, rng, f"meeting{index}_{count}spk", talkers))
    return out


def short_pairs(seed: int = SEED) -> list[Mix]:
    """Two talkers in turn, 5 to 8 s in all (see the module docstring)."""
    rng = np.random.default_rng(seed + 1)
    clips = _clips()
    pairs = [("ls61", "sb2"), ("austen", "mfa"), ("sb1", "sb2"), ("mfa", "austen"), ("sb2", "jfk"), ("an4", "sb1")]
    out = []
    for index, (first, second) in enumerate(pairs):
        a = min(clips[first], key=lambda c: abs(len(c.samples) / SAMPLE_RATE - 2.6))
        b = min(clips[second], key=lambda c: abs(len(c.samples) / SAMPLE_RATE - 3.3))
        track = _Track()
        most = int(4.0 * SAMPLE_RATE)  # at most 4 s a talker (cut recordings have no text)
        track.add(a, 0.1, samples=a.samples[:most], text=len(a.samples) <= most)
        track.add(b, track.end + float(rng.uniform(0.3, 0.6)), samples=b.samples[:most], text=len(b.samples) <= most)
        out.append(_finish(track, rng, f"pair{index}_{first}_{second}", [first, second], tail=0.3))
    return out


def room_response(rng: np.random.Generator, delay: float = ROOM_DELAY, t60: float = ROOM_T60) -> np.ndarray:
    """A crude impulse response from one talker to the other's microphone: the direct path
    after `delay` seconds, then a tail of exponentially decaying noise (60 dB down after `t60`
    seconds, 2 ms after the direct path) holding a quarter of the energy; unit energy."""
    n = int((delay + t60) * SAMPLE_RATE)
    first = int(delay * SAMPLE_RATE)
    response = np.zeros(n)
    response[first] = 1.0
    t = np.arange(n - first) / SAMPLE_RATE
    tail = rng.normal(0.0, 1.0, n - first) * np.exp(-6.9 * t / t60)
    tail[: int(0.002 * SAMPLE_RATE)] = 0.0
    response[first:] += np.sqrt(1.0 / 3.0) * tail / np.sqrt(np.sum(tail**2))
    return (response / np.sqrt(np.sum(response**2))).astype(np.float32)


def stereo_mixes(seed: int = SEED, room: bool = False) -> list[Mix]:
    """Two talkers in one room, one per channel, each -12 dB on the other's channel. room:
    the leak goes through `room_response` (a 3 ms delay and a 0.3 s reverberant tail) instead of
    arriving as a scaled copy; ids end in `_room`."""
    rng = np.random.default_rng(seed + 2)
    responses = [room_response(np.random.default_rng(seed + 3 + i)) for i in range(2)] if room else None
    clips = _clips()
    pairs = [("austen", "sb1"), ("mfa", "sb2"), ("ls61", "austen")]
    out = []
    for index, talkers in enumerate(pairs):
        tracks = [_Track(), _Track()]
        at = 0.2
        for turn in range(6):
            side = turn % 2
            clip = clips[talkers[side]][turn // 2 % len(clips[talkers[side]])]
            tracks[side].add(clip, at)
            overlap = turn % 3 == 2
            at += len(clip.samples) / SAMPLE_RATE + (-0.5 if overlap else float(rng.uniform(0.3, 1.0)))
        n = max(len(t.samples) for t in tracks) + int(0.5 * SAMPLE_RATE)
        solo = np.stack([np.pad(t.samples, (0, n - len(t.samples))) for t in tracks])
        gain = np.float32(10 ** (CROSSTALK_DB / 20))
        noise = rng.normal(0, 10 ** (NOISE_DBFS / 20), (2, n)).astype(np.float32)
        if responses is None:
            leak = [gain * solo[1], gain * solo[0]]  # leak[i]: what reaches channel i from the other
        else:
            from scipy.signal import oaconvolve

            leak = [gain * oaconvolve(solo[1 - i], responses[i])[:n].astype(np.float32) for i in range(2)]
        samples = np.stack([solo[0] + leak[0], solo[1] + leak[1]]) + noise
        turns = sorted(tracks[0].turns + tracks[1].turns, key=lambda t: (t[1], t[0]))
        channel_text = [" ".join(t for _, t in sorted(track.words)) for track in tracks]
        text = " ".join(t for _, t in sorted(tracks[0].words + tracks[1].words))
        mix_id = f"stereo{index}" + ("_room" if room else "")
        out.append(Mix(mix_id, samples, turns, text, list(talkers), channel_text, solo + noise))
    return out


def write(mix: Mix, directory: Path) -> Path:
    """<id>.wav (16-bit PCM, 16 kHz, mono or stereo) and <id>.rttm in `directory`; the wav's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{mix.id}.rttm").write_text(mix.rttm())
    samples = mix.samples if mix.samples.ndim == 1 else mix.samples.T
    return write_wav(directory / f"{mix.id}.wav", samples, SAMPLE_RATE)


def describe(mix: Mix) -> dict:
    return {
        "id": mix.id,
        "duration": round(mix.duration, 3),
        "talkers": mix.talkers,
        "speakers": len({t for t, _, _ in mix.turns}),
        "overlap_share": round(mix.overlap_share(), 3),
        "text": mix.text,
        "channel_text": mix.channel_text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write <id>.wav, <id>.rttm and meetings.json here")
    parser.add_argument("--list", action="store_true", help="print the set (no files)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    mixes = meetings(args.seed) + short_pairs(args.seed) + stereo_mixes(args.seed) + stereo_mixes(args.seed, room=True)
    for mix in mixes:
        d = describe(mix)
        overlap = 100 * d["overlap_share"]
        print(f"{d['id']:24} {d['duration']:5.1f} s  {d['speakers']} talkers  overlap {overlap:4.1f} %")
        if args.out:
            write(mix, args.out)
    if args.out:
        (args.out / "meetings.json").write_text(json.dumps([describe(m) for m in mixes], indent=1))


if __name__ == "__main__":
    main()
