"""Speaker diarization: samples in, speaker turns in seconds out.

Knows nothing of AWS. Pipeline (figures in bench/diarization.py):
1. Speech regions from the Silero VAD that faster-whisper ships (no torch, no download).
2. Windows of 1.5 s every 0.75 s inside each region (a shorter region: one window of its
   own length), embedded in batches by the GE2E speaker encoder whose weights Resemblyzer
   0.1.4 ships (3-layer LSTM over 40 mel bands; 256-d L2-normed d-vectors), run in numpy
   (emulator.engine.speaker_encoder).
3. Single-speaker guard: a two-way spectral split of all windows, kept only if both halves
   have enough speech and their voices differ (between-half similarity well below
   within-half similarity). Otherwise one speaker.
4. Otherwise the speaker count from agglomerative clustering (average linkage, cosine
   distance cut at `merge_distance`; small clusters joined), bounded by min/max_speakers;
   then spectral clustering into that many: cosine affinity with each row pruned to its p
   nearest windows (p tuned per recording as in NME-SC, Park et al. 2019), k-means on the
   spectral embedding (scikit-learn); clusters with too little speech join their nearest.
5. Window labels become turns: each instant takes the label of the nearest window centre,
   turns shorter than `min_turn` take a neighbour's speaker, a same-speaker pause shorter
   than `bridge_gap` is bridged, and speakers are numbered in order of first appearance.
6. With the speaker segmentation's weights (pyannote's segmentation-3.0, run in numpy by
   emulator.engine.speaker_segmentation), the turns are redrawn on its 17 ms frames
   (emulator.engine.resegmentation): its speech in place of the padded VAD's, and a second
   speaker where it hears two voices at once. Identity and count stay the clustering's.

Only Resemblyzer's weights file and network shape are used, not its Python code: its
package imports librosa (numba: seconds of import and JIT on first use) and webrtcvad. The
mel spectrogram below is librosa's `melspectrogram` as Resemblyzer calls it (power, Slaney
mel scale and area norm, 25 ms periodic Hann window, 10 ms hop, centred frames), in numpy
with faster-whisper's mel filter bank (the same bank to the last float32 bit).

The encoder's weights load and scikit-learn is imported when first needed, not at import
of this module: a `Diarizer` costs nothing until a job asks for speaker labels.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.resegmentation import resegment as redraw_turns
from emulator.engine.speaker_encoder import HIDDEN, N_MELS, SpeakerEncoder
from emulator.engine.speaker_segmentation import CHUNK_SAMPLES, FRAME_STEP, SpeakerSegmentation
from emulator.engine.vad import share_speech_probabilities

# Resemblyzer's hyper-parameters (resemblyzer/hparams.py).
_N_FFT = 400  # 25 ms
_HOP = 160  # 10 ms: one mel frame per 10 ms
_TARGET_DBFS = -30.0  # resemblyzer.audio.normalize_volume(..., increase_only=True)
_FRAMES_PER_SECOND = SAMPLE_RATE // _HOP


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

    window: float = 1.5  # seconds per embedding window
    hop: float = 0.75  # seconds between window starts
    min_window: float = 0.4  # speech regions shorter than this get no embedding of their own
    vad_threshold: float = 0.5  # Silero speech probability
    vad_min_silence: float = 0.3  # seconds of silence that end a speech region
    vad_pad: float = 0.2  # seconds added to each side of a speech region
    prune_keep: float = 0.1  # guard split: share of each affinity row kept (at least prune_min)
    prune_min: int = 8  # fewest neighbours an affinity row keeps
    prune_max_share: float = 0.25  # most neighbours the tuned pruning tries, as a share of windows
    min_speaker_speech: float = 2.5  # seconds; a cluster with less speech joins its nearest
    # Under `short_speech`, the guard's split needs only this much speech on each side (else
    # min_speaker_speech): AWS's 5.9 s two-speaker sample has 2.2 s of its first voice
    # (bench/meetings.py short_pairs: 2.0 to 4.1 s a side).
    guard_min_speech: float = 1.5
    # One voice when the between-half similarity is at least this share of the within-half
    # similarity (mean cosine over pairs of windows that do not overlap). Measured on the
    # guard's two-way split: 0.86 to 0.91 for the two AMI talkers, 0.94 to 0.98 for one talker.
    same_voice_ratio: float = 0.93
    # Under `short_speech` seconds of speech the windows are too few to tell similar voices
    # apart: only clearly different ones count as two. Measured (bench/diarization.py, issue 15):
    # 0.43 to 0.68 for two talkers in 5-8 s, 0.735 to 1.0 for one talker's clips of 3-10 s.
    same_voice_ratio_short: float = 0.71
    short_speech: float = 10.0
    max_cluster_windows: int = 1000  # longer audio: cluster a uniform sample, assign the rest
    # The speaker count: agglomerative clusters (average linkage) of windows closer than this
    # cosine distance are one voice. Chosen on bench/diarization.py Part 0 (0.3 to 0.5 tried).
    merge_distance: float = 0.4
    min_turn: float = 0.5  # seconds; shorter turns take their neighbour's speaker
    # seconds; a pause shorter than this inside one speaker's turn is part of it. 1.0 before:
    # 0.5 cuts false alarm in the synthetic meetings' pauses (DER 33 -> 30 %), AMI unchanged.
    bridge_gap: float = 0.5
    batch_size: int = 128  # windows per encoder call
    # Re-segmentation (step 6; only with the segmentation's weights): a 10 s chunk every
    # `segmentation_step` seconds (rounded to whole frames). Measured (bench/diarization.py,
    # pooled strict DER of the 3-4-talker meetings / shared items, before the Silero limit
    # below): every 1 s 18.9 / 17.3 %, 2.5 s 19.2 / 16.5 %, 5 s 19.2 / 16.2 % in a fifth of
    # the time of 1 s.
    resegment: bool = True
    segmentation_step: float = 5.0
    # The segmentation's speech counts only inside Silero's regions at this threshold (padded
    # by vad_pad): the network alone also hears speech where there is none (0.5 s in
    # ami_dev01, far from any talker's turn). Measured, DER of the 3-4-talker meetings / pyannote_sample, ami_dev00,
    # ami_dev01 / long file: no such limit 19.0 / 14.0, 11.4, 24.3 / 16.4 %; 0.2: 18.8 / 14.0,
    # 15.9, 21.2 / 16.3 %; 0.35: 18.8 / 14.0, 17.0, 18.5 / 16.5 %; 0.5: 18.8 / 14.0, 19.5, 18.8 / 16.7 %.
    resegment_vad_threshold: float = 0.35


class Diarizer:
    """Loads the speaker encoder once, on first use, and diarizes with it. Thread-safe.

    weights: the GE2E checkpoint (Resemblyzer 0.1.4's pretrained.pt, torch's legacy format;
    the model store's `speaker_encoder()` gives its verified path). Read on the first `embed`.
    segmentation: pyannote's segmentation-3.0 checkpoint (the model store's
    `speaker_segmentation()`); without it, no re-segmentation (step 6). Read on first use.
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

    def diarize(
        self, samples: np.ndarray, max_speakers: int, min_speakers: int = 1, resegment: bool = True
    ) -> list[SpeakerTurn]:
        """samples: float32 mono 16 kHz, shape (n,). max_speakers: the most speakers to report
        (>= 1; AWS's MaxSpeakerLabels); min_speakers: the fewest (1 unless the caller knows);
        resegment: False skips step 6 for this call (a caller that re-diarizes often).

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
        if not windows:
            pieces = _join([[0, s, e] for s, e in regions], self.options.bridge_gap)
        else:
            embeddings = self.embed(samples, windows)
            speech = sum(end - start for start, end in regions)
            labels = cluster(embeddings, windows, speech, max_speakers, min_speakers, self.options)
            pieces = _turn_pieces(regions, windows, labels, self.options.min_turn, self.options.bridge_gap)
        if pieces and self._segmentation_weights is not None and self.options.resegment and resegment:
            frames = round(self.options.segmentation_step * SAMPLE_RATE / FRAME_STEP)
            step = min(max(frames, 1), CHUNK_SAMPLES // FRAME_STEP) * FRAME_STEP
            starts, local = self.segmentation().sliding(samples, step)
            duration = len(samples) / SAMPLE_RATE
            heard = self.speech_regions(samples, threshold=self.options.resegment_vad_threshold)
            pieces = redraw_turns([tuple(p) for p in pieces], starts, local, duration, self.options.bridge_gap, heard)
        return _number_by_appearance(pieces)

    def speech_regions(self, samples: np.ndarray, threshold: float | None = None) -> list[tuple[float, float]]:
        """Speech regions (start, end) in seconds, from faster-whisper's Silero VAD (at
        `vad_threshold` unless `threshold` is given)."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        o = self.options
        vad = VadOptions(
            threshold=o.vad_threshold if threshold is None else threshold,
            min_silence_duration_ms=int(o.vad_min_silence * 1000),
            speech_pad_ms=int(o.vad_pad * 1000),
            min_speech_duration_ms=100,
        )
        duration = len(samples) / SAMPLE_RATE
        return [
            (s["start"] / SAMPLE_RATE, min(s["end"] / SAMPLE_RATE, duration))
            for s in get_speech_timestamps(samples, vad, sampling_rate=SAMPLE_RATE)
        ]

    def embed(self, samples: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
        """d-vectors of (start, end) spans in seconds: shape (len(windows), 256), float32,
        rows L2-normed and non-negative (the encoder ends in a ReLU). Raises OSError or
        speaker_encoder.CheckpointError when the weights cannot be read."""
        encoder = self.encoder()
        samples = _normalise_volume(samples)
        last_frame = len(samples) // _HOP  # frames 0..last_frame exist (centred framing)
        spans = []
        for start, end in windows:
            first = min(round(start * _FRAMES_PER_SECOND), last_frame)
            spans.append((first, max(min(round(end * _FRAMES_PER_SECOND), last_frame + 1), first + 1)))
        out = np.empty((len(spans), HIDDEN), dtype=np.float32)
        size = self.options.batch_size
        for first in range(0, len(spans), size):
            batch = spans[first : first + size]
            lengths = [end - start for start, end in batch]
            padded = np.zeros((len(batch), max(lengths), N_MELS), dtype=np.float32)
            for row, (start, end) in enumerate(batch):
                padded[row, : end - start] = mel_frames(samples, start, end)
            out[first : first + len(batch)] = encoder(padded, lengths)
        return out

    def encoder(self) -> SpeakerEncoder:
        """The speaker encoder, loaded from `weights` on the first call."""
        with self._lock:
            if self._encoder is None:
                self._encoder = SpeakerEncoder.load(self._weights)
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


# --- features and encoder -------------------------------------------------------------------


def _normalise_volume(samples: np.ndarray) -> np.ndarray:
    """Raises quiet audio to -30 dBFS RMS, as Resemblyzer's preprocessing does: the encoder
    reads a power (not log) mel spectrogram, so its input level matters."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 0.0:
        return samples
    change = _TARGET_DBFS - 20.0 * np.log10(rms)
    return samples * np.float32(10.0 ** (change / 20.0)) if change > 0 else samples


@functools.cache
def mel_filterbank() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) with its defaults (fmin 0, fmax 8 kHz,
    Slaney scale and area norm), as faster-whisper builds it for Whisper's features: shape
    (40, 201), float32. faster-whisper's top band edge is fixed at 8 kHz, right for 16 kHz
    audio only. Built on first use: importing faster-whisper is not free."""
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor.get_mel_filters(SAMPLE_RATE, _N_FFT, n_mels=N_MELS).astype(np.float32)


_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)  # periodic Hann


def mel_frames(samples: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Frames first..stop-1 of the power mel spectrogram Resemblyzer computes for `samples`
    (librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160, n_mels=40):
    frame t centred on sample 160 t, zeros beyond the ends): shape (stop - first, 40), float32.
    Computed per span so that hours of audio never need one whole spectrogram in memory."""
    lo = first * _HOP - _N_FFT // 2
    hi = (stop - 1) * _HOP + _N_FFT // 2
    chunk = np.zeros(hi - lo, dtype=np.float32)
    a, b = max(lo, 0), min(hi, len(samples))
    if b > a:
        chunk[a - lo : b - lo] = samples[a:b]
    frames = np.lib.stride_tricks.as_strided(
        chunk, shape=(stop - first, _N_FFT), strides=(chunk.strides[0] * _HOP, chunk.strides[0]), writeable=False
    )
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return power.astype(np.float32) @ mel_filterbank().T


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """The whole power mel spectrogram: shape (1 + n // 160, 40) (see mel_frames)."""
    return mel_frames(samples, 0, 1 + len(samples) // _HOP)


# --- clustering ----------------------------------------------------------------------------


def cluster(
    embeddings: np.ndarray,
    windows: list[tuple[float, float]],
    speech: float,
    max_speakers: int,
    min_speakers: int,
    options: DiarizationOptions,
) -> np.ndarray:
    """Speaker index per window (0-based, not yet in order of appearance).

    embeddings: (n, d) L2-normed rows for `windows` ((start, end) seconds); speech: seconds
    of detected speech (picks the guard's threshold).
    """
    n = len(embeddings)
    if n > options.max_cluster_windows:
        # Affinity and eigen-decomposition grow as n^2 and n^3: cluster a uniform sample,
        # then give every window the speaker of its nearest centroid.
        sample = np.linspace(0, n - 1, options.max_cluster_windows).round().astype(int)
        labels = cluster(embeddings[sample], [windows[i] for i in sample], speech, max_speakers, min_speakers, options)
        ids = np.unique(labels)
        centroids = np.stack([_centroid(embeddings[sample][labels == a]) for a in ids])
        return ids[np.argmax(embeddings @ centroids.T, axis=1)]
    if n < 2 or max_speakers == 1:
        return np.zeros(n, dtype=int)
    if min_speakers < 2 and _one_voice(embeddings, windows, speech, options):
        return np.zeros(n, dtype=int)
    upper = min(max_speakers, n - 1)
    lower = min(max(min_speakers, 2), upper)
    if upper < 2:
        return np.zeros(n, dtype=int)
    k = min(max(speaker_count(embeddings, windows, options), lower), upper)
    affinity = _tuned_affinity(embeddings, k, k, options)
    _, vectors = _laplacian_spectrum(affinity, k)
    labels = _assign(vectors[:, :k], k)
    return _absorb_small(embeddings, windows, labels, options.min_speaker_speech, max(min_speakers, 2))


def speaker_count(embeddings: np.ndarray, windows: list[tuple[float, float]], options: DiarizationOptions) -> int:
    """How many voices: average-linkage agglomerative clustering of the windows (cosine
    distance) cut at `merge_distance`, clusters with under `min_speaker_speech` seconds
    joined to their nearest, at least 2. The eigengap of the pruned affinity, used before,
    counted 2-3 where 4-6 talk (bench/diarization.py Part 0)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    labels = fcluster(tree, t=options.merge_distance, criterion="distance") - 1
    labels = _absorb_small(embeddings, windows, labels, options.min_speaker_speech, 2)
    return max(2, len(np.unique(labels)))


def _one_voice(
    embeddings: np.ndarray, windows: list[tuple[float, float]], speech: float, options: DiarizationOptions
) -> bool:
    """The single-speaker guard: split all windows in two (spectral, k=2) and call it one
    voice unless both halves cover `min_speaker_speech` and differ enough."""
    n = len(embeddings)
    if n < 4:
        return True
    affinity = _pruned_affinity(embeddings, max(options.prune_min, int(np.ceil(options.prune_keep * n))))
    _, vectors = _laplacian_spectrum(affinity, 2)
    halves = _assign(vectors, 2)
    a, b = halves == 0, halves == 1
    short = speech < options.short_speech
    least = options.guard_min_speech if short else options.min_speaker_speech
    for half in (a, b):
        if _covered([w for w, inside in zip(windows, half) if inside]) < least:
            return True
    threshold = options.same_voice_ratio_short if short else options.same_voice_ratio
    return voice_ratio(embeddings, windows, a, b, short=short) >= threshold


def voice_ratio(
    embeddings: np.ndarray, windows: list[tuple[float, float]], a: np.ndarray, b: np.ndarray, short: bool = False
) -> float:
    """Mean cosine between groups a and b over the mean within each (geometric mean), using
    only pairs of windows that do not overlap (overlapping windows share audio). About 1 for
    one voice split at random, lower the more the groups differ; 1.0 when a mean is undefined.

    A short clip may have no such pair inside a group (each voice one run of overlapping
    windows: a two-talker clip of 6 s): then, and always when `short`, pairs sharing at most
    2/3 of the shorter window count (measured with `short`: 0.49-0.65 for the two-talker clips
    of bench/meetings.py, 0.735-0.93 for one talker's clips under 10 s of speech)."""
    starts = np.array([w[0] for w in windows])
    ends = np.array([w[1] for w in windows])

    def mean(rows: np.ndarray, cols: np.ndarray, share: float) -> float:
        shared = np.minimum(ends[rows][:, None], ends[cols][None, :]) - np.maximum(
            starts[rows][:, None], starts[cols][None, :]
        )
        shorter = np.minimum((ends - starts)[rows][:, None], (ends - starts)[cols][None, :])
        apart = shared <= share * shorter + 1e-9
        if not apart.any():
            return float("nan")
        return float((embeddings[rows] @ embeddings[cols].T)[apart].mean())

    for share in (2.0 / 3.0,) if short else (0.0, 2.0 / 3.0):
        within_a, within_b, between = mean(a, a, share), mean(b, b, share), mean(a, b, share)
        if not (np.isnan(within_a) or np.isnan(within_b) or np.isnan(between)):
            break
    if np.isnan(within_a) or np.isnan(within_b) or np.isnan(between) or within_a * within_b <= 0:
        return 1.0
    return between / float(np.sqrt(within_a * within_b))


def _pruned_affinity(embeddings: np.ndarray, keep: int) -> np.ndarray:
    """Cosine affinity with all but each row's `keep` strongest entries zeroed, then
    symmetrised: keeps the graph's within-speaker edges and cuts most between-speaker ones."""
    n = len(embeddings)
    affinity = np.clip(embeddings @ embeddings.T, 0.0, 1.0)
    if keep < n:
        threshold = -np.partition(-affinity, keep - 1, axis=1)[:, keep - 1 : keep]
        affinity = np.where(affinity >= threshold, affinity, 0.0)
    return (affinity + affinity.T) / 2.0


def _tuned_affinity(embeddings: np.ndarray, lower: int, upper: int, options: DiarizationOptions) -> np.ndarray:
    """The pruned affinity whose neighbour count p minimises (p / n) / eigengap (NME-SC's
    criterion), p from prune_min to prune_max_share * n (at most 16 tries): few speakers
    with many windows each want a large p, many short speakers a small one."""
    n = len(embeddings)
    most = max(options.prune_min, int(options.prune_max_share * n))
    best = None
    for keep in np.unique(np.linspace(options.prune_min, most, 16).round().astype(int)):
        affinity = _pruned_affinity(embeddings, int(min(keep, n)))
        values, _ = _laplacian_spectrum(affinity, upper + 1, vectors=False)
        gap = float(np.diff(values)[lower - 1 : upper].max())
        score = (keep / n) / max(gap, 1e-9)
        if best is None or score < best[0]:
            best = (score, affinity)
    return best[1]


def _laplacian_spectrum(affinity: np.ndarray, count: int, vectors: bool = True):
    """The `count` smallest eigenvalues (ascending) of I - D^-1/2 A D^-1/2, and their
    eigenvectors (None when vectors=False)."""
    from scipy.linalg import eigh

    scale = 1.0 / np.sqrt(np.clip(affinity.sum(axis=1), 1e-12, None))
    laplacian = np.eye(len(affinity)) - scale[:, None] * affinity * scale[None, :]
    count = min(count, len(affinity))
    if not vectors:
        return eigh(laplacian, eigvals_only=True, subset_by_index=[0, count - 1]), None
    return eigh(laplacian, subset_by_index=[0, count - 1])


def _assign(spectral: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    rows = spectral / np.linalg.norm(spectral, axis=1, keepdims=True).clip(1e-12)
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(rows)


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
    embeddings: np.ndarray, windows: list[tuple[float, float]], labels: np.ndarray, min_speech: float, floor: int
) -> np.ndarray:
    """Gives each cluster covering less than min_speech seconds to the cluster with the
    nearest centroid, smallest first, keeping at least `floor` clusters: a few windows are
    not enough to call a new voice."""
    labels = labels.copy()
    while len(ids := np.unique(labels)) > max(floor, 1):
        covered = {a: _covered([w for w, label in zip(windows, labels) if label == a]) for a in ids}
        small = min(ids, key=covered.__getitem__)
        if covered[small] >= min_speech:
            break
        centre = _centroid(embeddings[labels == small])
        target = max((b for b in ids if b != small), key=lambda b: float(centre @ _centroid(embeddings[labels == b])))
        labels[labels == small] = target
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
