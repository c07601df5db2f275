"""Speaker diarization: samples in, speaker turns in seconds out.

Knows nothing of AWS. Pipeline (figures in bench/diarization.py):
1. Speech regions from the Silero VAD that faster-whisper ships (no torch, no download),
   padded, less any digital silence (emulator.engine.vad.digital_silence).
2. Windows of 1.5 s every 1 s inside each region (a shorter region: one window of its
   own length), each embedded by CAM++ (3D-Speaker's 192-d speaker embedding, run by
   onnxruntime: emulator.engine.campplus) on its own mean-normalised filter bank.
3. With the speaker segmentation's weights (pyannote's segmentation-3.0, run by onnxruntime:
   emulator.engine.speaker_segmentation), its voices per 17 ms frame: a window where two
   voices talk for more than `max_window_overlap` of its frames sits out the clustering (its
   embedding is of neither voice; in ami_dev01 such windows formed a third "speaker").
4. Agglomerative clustering of the other windows (average linkage, cosine distance cut at
   `merge_distance`); a cluster with less than `min_speaker_speech` seconds of windows joins
   the one with the nearest centroid, unless it is a clearly different voice (1.5 s or more,
   and cosine under 0.2 to every other or, to the segmentation network, a different local
   speaker from its nearest in the chunks they share); with the segmentation, a cluster's
   speech includes its local speaker's overlapped speech. The count is bounded by
   min/max_speakers (the tree cut at that many clusters). Left-out windows take the speaker
   of their nearest centroid.
5. Window labels become turns: each instant takes the label of the nearest window centre,
   turns shorter than `min_turn` take a neighbour's speaker, a same-speaker pause shorter
   than `bridge_gap` is bridged, and speakers are numbered in order of first appearance.
6. With the segmentation, the turns are redrawn on its frames
   (emulator.engine.resegmentation): its speech in place of the padded VAD's, and a second
   speaker where it hears two voices at once. Identity and count stay the clustering's.
7. A turn never covers digital silence (a bridged pause can): it is cut around it. In the
   long bench file, whose pieces are joined by 0.6 s of it, turns ran through 5.5 s of it;
   strict DER 13.7 -> 11.8 %. A recording with a noise floor has none.

Embeddings of recent windows are kept (by the digest of their samples, `embedding_cache`
of them): a stream re-diarizes all the audio heard so far at every final result, and only
the new windows cost.

The weights load and scipy is imported when first needed, not at import of this module: a
`Diarizer` costs nothing until a job asks for speaker labels.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.engine.campplus import EMBEDDING_SIZE, FRAME_LENGTH, FRAME_SHIFT, CAMPPlus, fbank
from emulator.engine.media import SAMPLE_RATE
from emulator.engine.resegmentation import LocalSpeakers, frame_times
from emulator.engine.resegmentation import resegment as redraw_turns
from emulator.engine.resegmentation import voice_count
from emulator.engine.speaker_segmentation import CHUNK_SAMPLES, FRAME_STEP, SpeakerSegmentation
from emulator.engine.vad import digital_silence, share_speech_probabilities, without


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of speech by one speaker. speaker: 0-based, numbered in order of first
    appearance; start, end: seconds from the start of the audio."""

    speaker: int
    start: float
    end: float


@dataclass(frozen=True)
class DiarizationOptions:
    """Tuning of the pipeline; the defaults are the ones bench/diarization.py reports."""

    window: float = 1.5  # seconds per embedding window (CAM++ takes 2 s at most)
    # seconds between window starts. Measured (bench/diarization.py --quick, pooled strict DER
    # of the meetings / shared items, RTF): 0.75: 15.3 / 15.1 %, 0.052; 1.0: 15.3 / 15.2 %,
    # 0.033; 1.5: 15.6 / 16.3 % (ami_dev01 22.4 %), 0.028.
    hop: float = 1.0
    min_window: float = 0.4  # speech regions shorter than this get no embedding of their own
    vad_threshold: float = 0.5  # Silero speech probability
    vad_min_silence: float = 0.3  # seconds of silence that end a speech region
    # seconds added to each side of a speech region. Measured (bench/diarization.py --held-out 6;
    # strict DER of the 3-4-talker meetings / 48 held-out meetings / pyannote_sample, ami_dev00,
    # ami_dev01, long file): 0.2: 14.6 / 13.6 / 13.6, 18.6, 18.1, 13.7 %; 0.25: 14.4 / 13.6 /
    # 13.7, 17.7, 14.2, 13.7 %; 0.3: the count falls to 7/8 and held-out 22/24 (AMI's quiet
    # starts and ends of words are in its reference).
    vad_pad: float = 0.25
    min_speaker_speech: float = 2.5  # seconds; a cluster with less speech joins its nearest
    # ... unless it has at least `min_distinct_speech` seconds and its centroid's cosine to every
    # other centroid is under `distinct_voice_similarity`. Measured (bench/diarization.py, min
    # speech 1.5 s for all; the meetings before each talker had a turn of his own): the 2.1 and
    # 2.7 s talkers of meeting7 at 0.06 and 0.07 from their
    # nearest voice; the spurious clusters of 2.2 s (one talker's other recording in stereo1,
    # windows around overlap in ami_dev01) at 0.43 and 0.38; two real talkers at 0.35.
    min_distinct_speech: float = 1.5
    distinct_voice_similarity: float = 0.2
    # ... or unless at least this many window pairs (and twice as many as say the opposite) are
    # two local speakers of one chunk to the segmentation network. With the segmentation, a
    # cluster's speech also counts the frames of the local speakers that only its windows hold
    # (its overlapped speech). Measured (bench/diarization.py --held-out 3): meeting5's an4 (2.1 s
    # of clean windows, 5.3 s of speech, 0.39 from ls61) and the long file's ninth talker are
    # found by the speech rule, meeting6's sb2 (4 pairs, 0 against) by the votes; with 1 vote
    # enough, one held-out meeting (heldout16_meeting7) counts 7 of 6.
    distinct_votes: int = 2
    # Under `short_speech` seconds of speech, a cluster needs only this much: AWS's 5.9 s
    # two-speaker sample has 2.2 s of its first voice (bench/meetings.py short_pairs: 2.0 to
    # 4.1 s a side).
    min_speaker_speech_short: float = 1.5
    short_speech: float = 10.0
    max_cluster_windows: int = 1000  # longer audio: cluster a uniform sample, assign the rest
    # Windows closer than this cosine distance (average linkage) are one voice. CAM++ on the
    # bench's windows (bench/diarization.py, issue 15): mean cosine 0.63 within a talker, 0.06
    # between; pooled strict DER of the meetings / shared items (windows every 0.75 s) at 0.6:
    # 16.6 / 15.9 %, 0.65: 15.2 / 15.1 %, 0.7: 15.2 / 18.4 % (pyannote_sample's two voices
    # merged), 0.8: 24.4 / 19.8 %.
    merge_distance: float = 0.65
    # A window whose frames hear two voices (the segmentation's count) more than this share
    # of the time sits out the clustering (step 3). Measured: 0.2 merged a talker of meeting5
    # (13.5 % overlap); 0.3 and 0.2 fix ami_dev01 (3 speakers found without the rule).
    max_window_overlap: float = 0.3
    min_turn: float = 0.5  # seconds; shorter turns take their neighbour's speaker
    # seconds; a pause shorter than this between one speaker's padded speech is part of the
    # turn: with vad_pad, a pause under 1 s of silence (as the job's segments, README). 1.0
    # before: 0.5 cuts false alarm in the synthetic meetings' pauses (DER 33 -> 30 %), AMI
    # unchanged. The references disagree on longer pauses: the synthetic meetings' (exact)
    # score a 1.06 s pause inside a talker's turn as silence, the long file's (each recording
    # whole) its readers' pauses of 0.8 to 2 s as speech. Measured (--held-out 3: 3-4-talker
    # meetings / 24 held-out / long file / shared items pooled, strict DER %; turns cut at
    # digital silence, step 7; resegment_vad_threshold 0.35): 0.5: 14.4 / 13.4 / 11.8 / 12.6;
    # 0.55: 14.4 / 13.7 / 10.8 / 11.8; 0.75: 15.9 / 14.7 / 10.3 / 11.4; 1.0: 18.2 / 16.0 / 7.5 /
    # 9.4 (pyannote_sample 13.7 -> 15.3).
    bridge_gap: float = 0.5
    batch_size: int = 16  # windows per CAM++ call (embedding the 269 s bench file peaked at +78 MB)
    embedding_cache: int = 4096  # windows' embeddings kept by digest (a stream's earlier windows)
    # The segmentation network (steps 3 and 6; only with its weights): a 10 s chunk every
    # `segmentation_step` seconds (rounded to whole frames). Measured (bench/diarization.py,
    # pooled strict DER of the 3-4-talker meetings / shared items, before the Silero limit
    # below): every 1 s 18.9 / 17.3 %, 2.5 s 19.2 / 16.5 %, 5 s 19.2 / 16.2 % in a fifth of
    # the time of 1 s.
    resegment: bool = True
    segmentation_step: float = 5.0
    # The segmentation's speech counts only inside Silero's regions at this threshold (padded
    # by vad_pad): the network alone also hears speech where there is none (0.5 s in
    # ami_dev01, far from any talker's turn). Measured when chosen (0.35), DER of the
    # 3-4-talker meetings / pyannote_sample, ami_dev00, ami_dev01 / long file: no such limit
    # 19.0 / 14.0, 11.4, 24.3 / 16.4 %; 0.2: 18.8 / 14.0, 15.9, 21.2 / 16.3 %; 0.35: 18.8 / 14.0,
    # 17.0, 18.5 / 16.5 %; 0.5: 18.8 / 14.0, 19.5, 18.8 / 16.7 %. Measured again with CAM++,
    # vad_pad 0.25 and step 7 (bench/diarization.py --held-out 6): the 56 synthetic meetings
    # and pyannote_sample do not move (14.4 % / 13.6 % held-out, 45/48 / 13.7 %); ami_dev00,
    # ami_dev01, long file: 0.15: 12.4, 18.8, 11.5 %; 0.2: 16.4, 16.5, 11.5 %; 0.25: 17.2,
    # 15.3, 11.6 %; 0.3: 17.5, 14.6, 11.6 %; 0.35: 17.7, 14.2, 11.8 %. At 0.2 every shared
    # item is under its figure at issue 15's filing (17.7, 17.1, 17.4, 12.2 %); AMI pooled is
    # 16.5 % (15.9 % at 0.35, 17.2 % at filing).
    resegment_vad_threshold: float = 0.2


class Diarizer:
    """Loads the speaker models once, on first use, and diarizes with them. Thread-safe.

    weights: the CAM++ checkpoint (3D-Speaker's campplus_cn_en_common.pt, a zip-format torch
    state dict; the model store's `speaker_embedding()` gives its verified path). Read on the
    first `embed`. segmentation: pyannote's segmentation-3.0 checkpoint (the model store's
    `speaker_segmentation()`); without it, steps 3 and 6 are skipped. Read on first use.
    """

    def __init__(
        self, options: DiarizationOptions | None = None, *, weights: Path, segmentation: Path | None = None
    ):
        self.options = options or DiarizationOptions()
        self._weights = weights
        self._segmentation_weights = segmentation
        share_speech_probabilities()  # one Silero pass per audio (emulator.engine.vad)
        self._encoder = None
        self._segmentation = None
        self._lock = threading.Lock()
        self._cache: collections.OrderedDict[bytes, np.ndarray] = collections.OrderedDict()

    def diarize(
        self, samples: np.ndarray, max_speakers: int, min_speakers: int = 1, resegment: bool = True
    ) -> list[SpeakerTurn]:
        """samples: float32 mono 16 kHz, shape (n,). max_speakers: the most speakers to report
        (>= 1; AWS's MaxSpeakerLabels); min_speakers: the fewest (1 unless the caller knows);
        resegment: False skips the segmentation network (steps 3 and 6) for this call (a
        caller that re-diarizes often).

        Returns turns sorted by start, covering the detected speech (pauses under
        `bridge_gap` inside a turn included); [] when there is no speech. Without
        re-segmentation turns never overlap; with it, two turns of different speakers overlap
        where two voices talk at once. Raises ValueError for impossible bounds,
        torch_checkpoint.CheckpointError or OSError when weights cannot be read. Blocking:
        run it in a worker thread.
        """
        if max_speakers < 1 or min_speakers < 1 or min_speakers > max_speakers:
            raise ValueError(f"need 1 <= min_speakers <= max_speakers, got {min_speakers}, {max_speakers}")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        regions = self.speech_regions(samples)
        windows = embedding_windows(regions, self.options)
        segmented = None
        if self._segmentation_weights is not None and self.options.resegment and resegment:
            frames = round(self.options.segmentation_step * SAMPLE_RATE / FRAME_STEP)
            step = min(max(frames, 1), CHUNK_SAMPLES // FRAME_STEP) * FRAME_STEP
            segmented = self.segmentation().sliding(samples, step)
        if not windows:
            pieces = _join([[0, s, e] for s, e in regions], self.options.bridge_gap)
        else:
            embeddings = self.embed(samples, windows)
            speech = sum(end - start for start, end in regions)
            clean = voices = None
            if segmented is not None:
                clean = overlap_share(windows, voice_count(*segmented)) <= self.options.max_window_overlap
                voices = LocalSpeakers.of_windows(windows, *segmented)
            labels = cluster(embeddings, windows, speech, max_speakers, min_speakers, self.options, clean, voices)
            pieces = _turn_pieces(regions, windows, labels, self.options.min_turn, self.options.bridge_gap)
        if pieces and segmented is not None:
            starts, local = segmented
            duration = len(samples) / SAMPLE_RATE
            heard = self.speech_regions(samples, threshold=self.options.resegment_vad_threshold)
            pieces = redraw_turns([tuple(p) for p in pieces], starts, local, duration, self.options.bridge_gap, heard)
        # A pause bridged inside a turn may be digital silence: no one speaks there.
        holes = digital_silence(samples)
        pieces = [[speaker, s, e] for speaker, start, end in pieces for s, e in without([(start, end)], holes)]
        return _number_by_appearance(pieces)

    def speech_regions(
        self, samples: np.ndarray, threshold: float | None = None, pad: float | None = None
    ) -> list[tuple[float, float]]:
        """Speech regions (start, end) in seconds, from faster-whisper's Silero VAD (at
        `vad_threshold` unless `threshold` is given; each side padded by `vad_pad` seconds
        unless `pad` is given), less any digital silence (emulator.engine.vad.digital_silence)
        the padding or a short pause took in."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        o = self.options
        vad = VadOptions(
            threshold=o.vad_threshold if threshold is None else threshold,
            min_silence_duration_ms=int(o.vad_min_silence * 1000),
            speech_pad_ms=round((o.vad_pad if pad is None else pad) * 1000),
            min_speech_duration_ms=100,
        )
        duration = len(samples) / SAMPLE_RATE
        regions = [
            (s["start"] / SAMPLE_RATE, min(s["end"] / SAMPLE_RATE, duration))
            for s in get_speech_timestamps(samples, vad, sampling_rate=SAMPLE_RATE)
        ]
        return without(regions, digital_silence(samples))

    def embed(self, samples: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
        """CAM++ embeddings of (start, end) spans in seconds (each at least FRAME_LENGTH
        samples, at most 2 s): shape (len(windows), 192), float32, rows L2-normed. Each span's
        filter bank is mean-normalised on its own. Raises ValueError for a span over 2 s,
        OSError or torch_checkpoint.CheckpointError when the weights cannot be read."""
        out = np.empty((len(windows), EMBEDDING_SIZE), dtype=np.float32)
        keys, todo = [], {}
        for i, (start, end) in enumerate(windows):
            first = min(round(start * SAMPLE_RATE), len(samples) - FRAME_LENGTH)
            span = samples[max(first, 0) : max(round(end * SAMPLE_RATE), first + FRAME_LENGTH)]
            keys.append(hashlib.blake2b(span.tobytes(), digest_size=16).digest())
            with self._lock:
                cached = self._cache.get(keys[-1])
                if cached is not None:
                    self._cache.move_to_end(keys[-1])  # least recently used goes first
            if cached is not None:
                out[i] = cached
            else:
                todo.setdefault(1 + (len(span) - FRAME_LENGTH) // FRAME_SHIFT, []).append((i, span))
        if todo:
            encoder = self.encoder()
            for group in todo.values():  # windows of one length in a batch
                for first in range(0, len(group), self.options.batch_size):
                    batch = group[first : first + self.options.batch_size]
                    features = np.stack([fbank(span) for _, span in batch])
                    features -= features.mean(axis=1, keepdims=True)
                    raw = encoder(features)
                    rows = [i for i, _ in batch]
                    out[rows] = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
            with self._lock:
                for group in todo.values():
                    for i, _ in group:
                        self._cache[keys[i]] = out[i].copy()
                        self._cache.move_to_end(keys[i])
                while len(self._cache) > self.options.embedding_cache:
                    self._cache.popitem(last=False)
        return out

    def encoder(self) -> CAMPPlus:
        """The CAM++ network, loaded from `weights` on the first call."""
        with self._lock:
            if self._encoder is None:
                self._encoder = CAMPPlus.load(self._weights)
            return self._encoder

    def segmentation(self) -> SpeakerSegmentation:
        """The speaker segmentation network, loaded from `segmentation` on the first call.
        Raises ValueError when the Diarizer has none."""
        if self._segmentation_weights is None:
            raise ValueError("this Diarizer has no speaker segmentation weights")
        with self._lock:
            if self._segmentation is None:
                self._segmentation = SpeakerSegmentation.load(self._segmentation_weights)
            return self._segmentation


def embedding_windows(regions: list[tuple[float, float]], options: DiarizationOptions) -> list[tuple[float, float]]:
    """(start, end) seconds of the windows to embed: `window` long every ~`hop` inside each
    region, spread so the last ends at the region's end; one window for a region shorter
    than `window`; none for a region shorter than `min_window`."""
    windows: list[tuple[float, float]] = []
    for start, end in regions:
        length = end - start
        if length < options.min_window:
            continue
        if length <= options.window:
            windows.append((start, end))
            continue
        count = int(np.ceil((length - options.window) / options.hop)) + 1
        step = (length - options.window) / (count - 1)
        windows.extend((start + i * step, start + i * step + options.window) for i in range(count))
    return windows


def overlap_share(windows: list[tuple[float, float]], count: np.ndarray) -> np.ndarray:
    """Per window, the share of the segmentation's frames inside it where two or more voices
    talk: float array (len(windows),), 0 for a window holding no frame. count: voices per
    global frame (resegmentation.voice_count)."""
    times = frame_times(len(count))
    overlapped = np.concatenate([[0], np.cumsum(count >= 2)])
    first = np.searchsorted(times, [start for start, _ in windows], side="left")
    stop = np.searchsorted(times, [end for _, end in windows], side="left")
    held = stop - first
    return np.where(held > 0, (overlapped[stop] - overlapped[first]) / np.maximum(held, 1), 0.0)


# --- clustering ----------------------------------------------------------------------------


def cluster(
    embeddings: np.ndarray,
    windows: list[tuple[float, float]],
    speech: float,
    max_speakers: int,
    min_speakers: int,
    options: DiarizationOptions,
    clean: np.ndarray | None = None,
    voices: LocalSpeakers | None = None,
) -> np.ndarray:
    """Speaker index per window (0-based, not yet in order of appearance): steps 3 and 4.

    embeddings: (n, d) L2-normed rows for `windows` ((start, end) seconds); speech: seconds
    of detected speech (picks the smallest speaker's speech); clean: bool (n,), the windows
    that are clustered (None: all); the others take the speaker of the nearest centroid;
    voices: the segmentation's local speakers of `windows` (None: no segmentation), evidence
    for a small cluster (`_absorb_small`).
    """
    n = len(embeddings)
    if n < 2 or max_speakers == 1:
        return np.zeros(n, dtype=int)
    chosen = np.flatnonzero(clean) if clean is not None and np.count_nonzero(clean) >= 2 else np.arange(n)
    if len(chosen) > options.max_cluster_windows:
        # Average linkage grows as n^2 in memory and time: cluster a uniform sample.
        chosen = chosen[np.linspace(0, len(chosen) - 1, options.max_cluster_windows).round().astype(int)]
    labels = _agglomerate(
        embeddings[chosen],
        [windows[i] for i in chosen],
        speech,
        max_speakers,
        min_speakers,
        options,
        None if voices is None else voices.rows(chosen),
    )
    if len(chosen) == n:
        return labels
    ids = np.unique(labels)
    centroids = np.stack([_centroid(embeddings[chosen][labels == a]) for a in ids])
    out = ids[np.argmax(embeddings @ centroids.T, axis=1)]
    out[chosen] = labels
    return out


def _agglomerate(
    embeddings: np.ndarray,
    windows: list[tuple[float, float]],
    speech: float,
    max_speakers: int,
    min_speakers: int,
    options: DiarizationOptions,
    voices: LocalSpeakers | None = None,
) -> np.ndarray:
    """Step 4 on these windows: the tree cut at `merge_distance`, small clusters joined,
    then cut again at the nearest allowed count if the count is out of bounds."""
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    least = options.min_speaker_speech_short if speech < options.short_speech else options.min_speaker_speech
    labels = fcluster(tree, t=options.merge_distance, criterion="distance") - 1
    distinct = (options.min_distinct_speech, options.distinct_voice_similarity)
    labels = _absorb_small(embeddings, windows, labels, least, min_speakers, distinct, voices, options.distinct_votes)
    count = len(np.unique(labels))
    if not min_speakers <= count <= max_speakers:
        wanted = min(max(count, min_speakers), max_speakers, len(embeddings))
        labels = fcluster(tree, t=wanted, criterion="maxclust") - 1
    return labels


def _covered(windows: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of the windows."""
    total, current = 0.0, None
    for start, end in sorted(windows):
        if current and start <= current[1]:
            current[1] = max(current[1], end)
        else:
            total += current[1] - current[0] if current else 0.0
            current = [start, end]
    return total + (current[1] - current[0] if current else 0.0)


def _centroid(embeddings: np.ndarray) -> np.ndarray:
    mean = embeddings.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _absorb_small(
    embeddings: np.ndarray,
    windows: list[tuple[float, float]],
    labels: np.ndarray,
    min_speech: float,
    floor: int,
    distinct: tuple[float, float] | None = None,
    voices: LocalSpeakers | None = None,
    votes: int = 2,
) -> np.ndarray:
    """Gives each cluster covering less than min_speech seconds to the cluster with the
    nearest centroid, smallest first, keeping at least `floor` clusters: a few windows are
    not enough to call a new voice. distinct: (seconds, cosine): a cluster covering at least
    that many seconds whose centroid's cosine to every other centroid is below that is kept
    even under min_speech (a clearly different voice that says little). voices (the
    segmentation's local speakers of `windows`): a cluster's speech is at least what the
    local speakers only its windows hold say (`LocalSpeakers.exclusive_speech`: its overlapped
    speech counts), and a cluster with `distinct`'s seconds is also kept when at least
    `votes` pairs of its windows and its nearest cluster's, and twice as many as say the
    opposite, are two local speakers of one chunk (two voices to the network)."""
    labels = labels.copy()
    while len(ids := np.unique(labels)) > max(floor, 1):
        covered = {a: _covered([w for w, label in zip(windows, labels) if label == a]) for a in ids}
        if voices is not None:  # the voice's speech the segmentation hears beyond the windows
            for a in ids:
                if covered[a] < min_speech:
                    covered[a] = max(covered[a], voices.exclusive_speech(labels == a))
        centroids = {a: _centroid(embeddings[labels == a]) for a in ids}

        def nearest(a):
            return max((b for b in ids if b != a), key=lambda b: float(centroids[a] @ centroids[b]))

        def small(a) -> bool:
            if covered[a] >= min_speech:
                return False
            if distinct is not None and covered[a] >= distinct[0]:
                if float(centroids[a] @ centroids[nearest(a)]) < distinct[1]:
                    return False
                if voices is not None:
                    same, different = voices.votes(labels == a, labels == nearest(a))
                    if different >= max(votes, 2 * same):
                        return False
            return True

        candidates = [a for a in ids if small(a)]
        if not candidates:
            break
        smallest = min(candidates, key=covered.__getitem__)
        labels[labels == smallest] = nearest(smallest)
    return labels


# --- turns -----------------------------------------------------------------------------------


def _turn_pieces(
    regions: list[tuple[float, float]],
    windows: list[tuple[float, float]],
    labels: np.ndarray,
    min_turn: float,
    bridge_gap: float,
) -> list[list]:
    """[speaker, start, end] turns from the windows' labels (step 5), sorted, not numbered."""
    centres = np.array([(s + e) / 2 for s, e in windows])
    pieces: list[list] = []  # [speaker, start, end]
    for start, end in regions:
        inside = np.flatnonzero((centres >= start) & (centres <= end))
        if len(inside) == 0:
            # A region too short for a window: the speaker of the nearest window centre.
            nearest = int(np.argmin(np.abs(centres - (start + end) / 2)))
            pieces.append([int(labels[nearest]), start, end])
            continue
        bounds = [start, *((centres[inside[:-1]] + centres[inside[1:]]) / 2), end]
        for j, index in enumerate(inside):
            pieces.append([int(labels[index]), float(bounds[j]), float(bounds[j + 1])])
    pieces = _absorb_short(_join(pieces), min_turn)
    return _join(pieces, bridge_gap)


def _join(pieces: list[list], gap: float = 0.0) -> list[list]:
    """Joins pieces of the same speaker that touch or are at most `gap` seconds apart."""
    out: list[list] = []
    for speaker, start, end in pieces:
        if out and out[-1][0] == speaker and start - out[-1][2] <= gap + 1e-6:
            out[-1][2] = end
        else:
            out.append([speaker, start, end])
    return out


def _absorb_short(pieces: list[list], min_turn: float) -> list[list]:
    """Gives each turn shorter than min_turn (shortest first) the speaker of its nearer
    neighbour of another speaker (smaller gap; then the longer one), and rejoins; a turn
    that grows by joining is looked at again. Turns without such a neighbour keep theirs."""
    pieces = [p[:] for p in pieces]
    settled: set[tuple[float, float]] = set()
    while True:
        short = [i for i, (_, s, e) in enumerate(pieces) if e - s < min_turn and (s, e) not in settled]
        if not short:
            return pieces
        i = min(short, key=lambda j: pieces[j][2] - pieces[j][1])
        speaker, start, end = pieces[i]
        settled.add((start, end))
        neighbours = []
        for j in (i - 1, i + 1):
            if 0 <= j < len(pieces) and pieces[j][0] != speaker:
                other, other_start, other_end = pieces[j]
                gap = start - other_end if j < i else other_start - end
                neighbours.append((gap, -(other_end - other_start), other))
        if neighbours:
            pieces[i][0] = min(neighbours)[2]
            pieces = _join(pieces)


def _number_by_appearance(pieces) -> list[SpeakerTurn]:
    """SpeakerTurns of (speaker, start, end) pieces sorted by start, speakers renumbered in
    order of first appearance."""
    numbers: dict[int, int] = {}
    return [
        SpeakerTurn(numbers.setdefault(speaker, len(numbers)), round(start, 3), round(end, 3))
        for speaker, start, end in pieces
    ]
