"""Re-segmentation: the clustering's speaker turns redrawn on the speaker segmentation's frames.

Knows nothing of AWS. emulator.engine.diarization finds who is who with speaker embeddings
on VAD windows; its turns' edges are the VAD's (padded by 0.25 s, pauses under 0.5 s
bridged) and it gives one speaker at a time. The segmentation network
(emulator.engine.speaker_segmentation) hears, every 17 ms of each 10 s chunk, which of up
to three local speakers talk, two at once included, but not who they are across chunks.
Together (figures in bench/diarization.py, issue 15):

1. Speech and the number of voices per frame: each frame's count of active local speakers,
   averaged over the chunks that hold it (Hamming-weighted, as pyannote.audio aggregates),
   rounded. A frame is speech where the count is at least 1 and a second detector (Silero at
   a low threshold, given as `heard`) also hears speech near it.
2. The first speaker of each speech frame: the speaker of the clustering's turn there, or of
   the nearest turn (speech the VAD missed, or its padding trimmed).
3. Each chunk's local speakers named: a local speaker is the clustering's speaker it shares
   most of its clean (one-voice) frames with.
4. Where the count is 2, the second speaker: among the named local speakers active in that
   frame, the one other than the first speaker with the most (weighted) chunks behind it.
5. Turns: each speaker's frames joined, pauses of at most `bridge` seconds within a
   speaker's own frames bridged.

So speaker identity stays the clustering's (the count too), and the segmentation draws the
edges and adds the overlapped speaker: a speaker's turns may overlap another's.

Before that, the clustering asks the segmentation about its small clusters (`LocalSpeakers`):
whether two windows are one local speaker or two in a chunk they share, and how much speech
the local speaker that only a cluster's windows hold has, overlapped speech included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.speaker_segmentation import FRAME_SIZE, FRAME_STEP

_CENTRE = (FRAME_SIZE - 1) / 2  # samples from a frame's start to its centre


def frame_times(count: int) -> np.ndarray:
    """Centres of global frames 0..count-1 in seconds (frame i: samples from 270 i)."""
    return (np.arange(count) * FRAME_STEP + _CENTRE) / SAMPLE_RATE


def voice_count(starts: list[int], local: np.ndarray) -> np.ndarray:
    """Voices per global frame: int array (frames,), frames = starts[-1] / 270 + chunk frames.

    starts: each chunk's first sample, multiples of FRAME_STEP; local: (chunks, frames, 3) 0/1
    activity of each chunk's local speakers (SpeakerSegmentation.activity)."""
    frames = local.shape[1]
    weight = _chunk_weight(frames)
    total = starts[-1] // FRAME_STEP + frames
    count, weights = np.zeros(total), np.zeros(total)
    for c, start in enumerate(starts):
        at = start // FRAME_STEP
        count[at : at + frames] += weight * local[c].sum(axis=1)
        weights[at : at + frames] += weight
    return np.round(count / np.maximum(weights, 1e-9)).astype(int)


def resegment(
    turns: list[tuple[int, float, float]],
    starts: list[int],
    local: np.ndarray,
    duration: float,
    bridge: float,
    heard: list[tuple[float, float]] | None = None,
) -> list[tuple[int, float, float]]:
    """(speaker, start, end) turns redrawn on the segmentation's frames (module docstring).

    turns: the clustering's (speaker >= 0, start, end) in seconds, not overlapping, sorted;
    starts, local: as for voice_count, covering the audio; duration: seconds of audio (turns
    end there at the latest); bridge: seconds. Returns turns sorted by start; two may
    overlap where two voices talk. [] when the segmentation hears no speech."""
    count = voice_count(starts, local)
    frames = local.shape[1]
    times = frame_times(len(count))
    primary = nearest_speaker(turns, times) if turns else np.zeros(len(count), dtype=int)
    speakers = int(primary.max()) + 1
    second = np.zeros((len(count), speakers))
    weight = _chunk_weight(frames)
    for c, start in enumerate(starts):
        at = start // FRAME_STEP
        active = local[c] > 0
        clean = active.sum(axis=1) == 1
        both = active.sum(axis=1) >= 2
        theirs = primary[at : at + frames]
        for k in range(active.shape[1]):
            mine = active[:, k] & clean
            if not mine.any():
                continue
            named = int(np.bincount(theirs[mine], minlength=speakers).argmax())
            overlapped = np.flatnonzero(both & active[:, k])
            second[at + overlapped, named] += weight[overlapped]
    second[np.arange(len(count)), primary] = 0.0
    runner_up = np.argmax(second, axis=1)
    has_second = (count >= 2) & (second[np.arange(len(count)), runner_up] > 0)
    speech = count >= 1
    if heard is not None:
        starts_heard = np.array([a for a, _ in heard])
        ends_heard = np.array([b for _, b in heard])
        at = np.searchsorted(starts_heard, times, side="right") - 1
        speech &= (at >= 0) & (times <= ends_heard[np.maximum(at, 0)]) if len(heard) else False
    out: list[tuple[int, float, float]] = []
    for speaker in range(speakers):
        mask = speech & ((primary == speaker) | (has_second & (runner_up == speaker)))
        out.extend((speaker, start, end) for start, end in _spans(mask, duration, bridge))
    return sorted(out, key=lambda turn: (turn[1], turn[0]))


@dataclass(frozen=True)
class LocalSpeakers:
    """Which of each chunk's local speakers talks in each embedding window: what the
    segmentation network, which tells voices apart within 10 s, says about the windows.

    starts, activity: as for voice_count (chunks' first samples; (chunks, frames, 3) 0/1);
    who: int8 (windows, chunks), the local speaker holding the window in that chunk, -1 where
    the window is not wholly inside the chunk or no local speaker holds it (`of_windows`);
    left_out: the same for windows outside `who` (those a clustering did not sample, `rows`):
    their local speakers are no cluster's alone."""

    starts: list[int]
    activity: np.ndarray
    who: np.ndarray
    left_out: np.ndarray | None = None

    @classmethod
    def of_windows(
        cls,
        windows: list[tuple[float, float]],
        starts: list[int],
        activity: np.ndarray,
        hold: float = 0.6,
        other: float = 0.2,
    ) -> LocalSpeakers:
        """windows: (start, end) seconds, sorted by start, none inside another (as
        diarization.embedding_windows gives them). A local speaker holds a window when it is
        active in at least `hold` of the window's frames and every other local speaker in at
        most `other`."""
        frames = activity.shape[1]
        times = frame_times(frames)
        who = np.full((len(windows), len(starts)), -1, dtype=np.int8)
        first = np.array([a for a, _ in windows])
        last = np.array([b for _, b in windows])
        span = frames * FRAME_STEP / SAMPLE_RATE
        for c, start in enumerate(starts):
            begin = start / SAMPLE_RATE
            lo = int(np.searchsorted(first, begin, side="left"))
            hi = int(np.searchsorted(last, begin + span, side="right"))
            for i in range(lo, hi):
                inside = (times >= first[i] - begin) & (times < last[i] - begin)
                if not inside.any():
                    continue
                share = activity[c][inside].mean(axis=0)
                order = np.argsort(share)[::-1]
                if share[order[0]] >= hold and share[order[1]] <= other:
                    who[i, c] = order[0]
        return cls(starts, activity, who)

    def rows(self, chosen: np.ndarray) -> LocalSpeakers:
        """The same for the windows `chosen` (indices) only; the others go to `left_out`."""
        rest = np.ones(len(self.who), dtype=bool)
        rest[chosen] = False
        return LocalSpeakers(self.starts, self.activity, self.who[chosen], self.who[rest])

    def votes(self, first: np.ndarray, second: np.ndarray) -> tuple[int, int]:
        """(same, different): pairs of a window of `first` and one of `second` (bool masks over
        the windows) inside one chunk that have the same local speaker, and pairs that have
        different ones (two voices to the network)."""
        same = different = 0
        for c in range(self.who.shape[1]):
            a, b = self.who[first, c], self.who[second, c]
            a, b = a[a >= 0], b[b >= 0]
            if len(a) and len(b):
                matches = int((a[:, None] == b[None, :]).sum())
                same += matches
                different += len(a) * len(b) - matches
        return same, different

    def exclusive_speech(self, mine: np.ndarray) -> float:
        """Seconds in which the local speakers held only by the windows `mine` (bool mask: no
        other window in that chunk has them, `left_out` ones included) are active: that voice's speech including what
        its windows miss (overlapped speech sits out the clustering; pieces too short for a
        window)."""
        frames = self.activity.shape[1]
        heard = np.zeros(self.starts[-1] // FRAME_STEP + frames, dtype=bool)
        outside = self.who[~mine] if self.left_out is None else np.concatenate([self.who[~mine], self.left_out])
        for c, start in enumerate(self.starts):
            own, others = self.who[mine, c], outside[:, c]
            for k in set(own[own >= 0].tolist()) - set(others[others >= 0].tolist()):
                at = start // FRAME_STEP
                heard[at : at + frames] |= self.activity[c, :, k] > 0
        return float(np.count_nonzero(heard) * FRAME_STEP / SAMPLE_RATE)


def _chunk_weight(frames: int) -> np.ndarray:
    """How much each frame of a chunk counts when chunks overlap: a Hamming window of
    frames + 2 points less its two end points (a chunk's edges, where the network has least
    context, count least)."""
    return np.hamming(frames + 2)[1:-1]


def nearest_speaker(turns: list[tuple[int, float, float]], times: np.ndarray) -> np.ndarray:
    """The speaker of the turn each time (seconds) lies in, or of the nearest turn (the one
    before it on a tie). turns: (speaker, start, end), sorted, not overlapping, at least one.
    Memory grows with len(times) + len(turns), not their product (hours of audio)."""
    first = np.array([start for _, start, _ in turns])
    last = np.array([end for _, _, end in turns])
    who = np.array([speaker for speaker, _, _ in turns], dtype=int)
    before = np.clip(np.searchsorted(first, times, side="right") - 1, 0, len(turns) - 1)
    after = np.minimum(before + 1, len(turns) - 1)
    to_before = np.maximum(times - last[before], 0.0) + np.maximum(first[before] - times, 0.0)
    to_after = np.maximum(first[after] - times, 0.0)
    return np.where(to_after < to_before, who[after], who[before])


def _spans(mask: np.ndarray, duration: float, bridge: float) -> list[tuple[float, float]]:
    """Runs of True frames as (start, end) seconds (each frame FRAME_STEP wide around its
    centre), runs at most `bridge` seconds apart joined, clipped to [0, duration]."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    half = FRAME_STEP / 2
    out: list[list[float]] = []
    for on, off in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        start = max(0.0, (on * FRAME_STEP + _CENTRE - half) / SAMPLE_RATE)
        end = min(duration, ((off - 1) * FRAME_STEP + _CENTRE + half) / SAMPLE_RATE)
        if end <= start:
            continue
        if out and start - out[-1][1] <= bridge + 1e-9:
            out[-1][1] = end
        else:
            out.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in out]
