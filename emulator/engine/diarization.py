"""Speaker diarization: samples in, speaker turns in seconds out.

Knows nothing of AWS. Pipeline (measured on the shared AMI excerpts, see bench/diarization.py):
1. Speech regions from the Silero VAD that faster-whisper ships (no torch, no download).
2. Windows of 1.5 s every 0.75 s inside each region (shorter regions: one window of their
   own length), embedded in batches by the GE2E speaker encoder whose weights Resemblyzer
   0.1.4 ships (a 3-layer LSTM over 40 mel bands, 256-d L2-normed d-vectors).
3. Spectral clustering: cosine affinities, each row pruned to its nearest neighbours, the
   speaker count from the largest eigengap of the normalised Laplacian (capped by
   `max_speakers`), k-means on the spectral embedding (scikit-learn).
4. A guard against over-splitting: clusters whose centroids are nearly the same voice are
   merged (the eigengap alone says 3 or 4 speakers for a single talker).
5. Window labels become turns (each instant takes the label of the nearest window centre),
   turns shorter than `min_turn` take the label of their neighbour, and speakers are
   numbered in order of first appearance.

Only Resemblyzer's weights file and network shape are used, not its Python code: its
package imports librosa (numba: seconds of import and JIT) and webrtcvad. The mel
spectrogram below is librosa's `melspectrogram` as Resemblyzer calls it (power, Slaney mel
scale and norm, 25 ms Hann window, 10 ms hop, 40 bands), in numpy.

torch is imported when the encoder first loads, not at import of this module: build a
`Diarizer` freely, it costs nothing until a job asks for speaker labels.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.engine.media import SAMPLE_RATE

# Resemblyzer's hyper-parameters (resemblyzer/hparams.py).
_N_FFT = 400  # 25 ms
_HOP = 160  # 10 ms: one mel frame per 10 ms
_N_MELS = 40
_HIDDEN = 256
_LAYERS = 3
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
    vad_threshold: float = 0.5
    vad_min_silence: float = 0.3  # seconds of silence that end a speech region
    vad_pad: float = 0.1  # seconds added to each side of a speech region
    prune_keep: float = 0.25  # share of each affinity row kept (at least `prune_min` entries)
    prune_min: int = 6
    merge_similarity: float = 0.86  # clusters whose centroids are closer than this are one voice
    min_turn: float = 1.0  # seconds; shorter turns take their neighbour's speaker
    batch_size: int = 128  # windows per encoder call


class Diarizer:
    """Loads the speaker encoder once, on first use (CPU), and diarizes with it. Thread-safe.

    weights: a Resemblyzer-format checkpoint; None for the one the `resemblyzer` package ships.
    """

    def __init__(self, options: DiarizationOptions | None = None, weights: Path | None = None):
        self.options = options or DiarizationOptions()
        self._weights = weights
        self._encoder = None
        self._lock = threading.Lock()

    # --- public --------------------------------------------------------------------------

    def diarize(self, samples: np.ndarray, max_speakers: int, min_speakers: int = 1) -> list[SpeakerTurn]:
        """samples: float32 mono 16 kHz, shape (n,). max_speakers: the most speakers to report
        (>= 1; AWS's MaxSpeakerLabels); min_speakers: the fewest (1 unless the caller knows).

        Returns turns sorted by start, non-overlapping, covering the detected speech only.
        No speech gives []. Blocking (about 1 s per 5 min of audio on 2 cores): run it in a
        worker thread.
        """
        if max_speakers < 1 or min_speakers < 1 or min_speakers > max_speakers:
            raise ValueError(f"need 1 <= min_speakers <= max_speakers, got {min_speakers}, {max_speakers}")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        regions = self.speech_regions(samples)
        windows = self._windows(regions)
        if not windows:
            return [SpeakerTurn(0, start, end) for start, end in regions]
        embeddings = self.embed(samples, windows)
        labels = cluster(embeddings, max_speakers, min_speakers, self.options)
        return _turns(regions, windows, labels, self.options.min_turn)

    def speech_regions(self, samples: np.ndarray) -> list[tuple[float, float]]:
        """Speech regions (start, end) in seconds, from faster-whisper's Silero VAD."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        o = self.options
        vad = VadOptions(
            threshold=o.vad_threshold,
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
        """d-vectors of the given (start, end) spans in seconds: shape (len(windows), 256),
        each row L2-normed (and non-negative, as the encoder's last layer is a ReLU)."""
        import torch

        encoder = self.encoder()
        mel = mel_spectrogram(_normalise_volume(samples))
        spans = [(round(s * _FRAMES_PER_SECOND), max(round(e * _FRAMES_PER_SECOND), round(s * _FRAMES_PER_SECOND) + 1)) for s, e in windows]
        out = np.empty((len(spans), _HIDDEN), dtype=np.float32)
        size = self.options.batch_size
        with torch.inference_mode():
            for first in range(0, len(spans), size):
                batch = spans[first : first + size]
                lengths = [min(e, len(mel)) - s for s, e in batch]
                padded = np.zeros((len(batch), max(lengths), _N_MELS), dtype=np.float32)
                for row, ((s, _), n) in enumerate(zip(batch, lengths)):
                    padded[row, :n] = mel[s : s + n]
                out[first : first + len(batch)] = encoder(torch.from_numpy(padded), lengths).numpy()
        return out

    def encoder(self):
        """The speaker encoder (a torch module), loaded on first call."""
        with self._lock:
            if self._encoder is None:
                self._encoder = _load_encoder(self._weights or _shipped_weights())
            return self._encoder

    # --- windows ---------------------------------------------------------------------------

    def _windows(self, regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
        o = self.options
        windows: list[tuple[float, float]] = []
        for start, end in regions:
            length = end - start
            if length < o.min_window:
                continue
            if length <= o.window:
                windows.append((start, end))
                continue
            count = int(np.ceil((length - o.window) / o.hop)) + 1
            # Spread the windows evenly so the last one ends at the region's end.
            step = (length - o.window) / (count - 1)
            windows.extend((start + i * step, start + i * step + o.window) for i in range(count))
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


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, log above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_part = hz >= 1000.0
    mel[log_part] = 15.0 + np.log(hz[log_part] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * (200.0 / 3)
    log_part = mel >= 15.0
    hz[log_part] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log_part] - 15.0))
    return hz


def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = _N_FFT, n_mels: int = _N_MELS) -> np.ndarray:
    """librosa.filters.mel(sr, n_fft, n_mels) with its defaults (fmin 0, fmax sr/2, Slaney
    scale and area norm): shape (n_mels, n_fft // 2 + 1)."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([sample_rate / 2]))[0], n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


_FILTERBANK = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)  # periodic Hann


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Power mel spectrogram as Resemblyzer computes it (librosa.feature.melspectrogram with
    sr=16000, n_fft=400, hop_length=160, n_mels=40; centred frames, zero padding):
    shape (1 + n // 160, 40), float32; frame t is centred on sample 160 t."""
    padded = np.pad(samples.astype(np.float32, copy=False), _N_FFT // 2)
    count = 1 + (len(padded) - _N_FFT) // _HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(count, _N_FFT), strides=(padded.strides[0] * _HOP, padded.strides[0]), writeable=False
    )
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return (power.astype(np.float32) @ _FILTERBANK.T).astype(np.float32)


def _shipped_weights() -> Path:
    # find_spec locates the package without running its __init__ (which imports librosa).
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("speaker diarization needs the 'resemblyzer' package (its encoder weights)")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise RuntimeError(f"the speaker encoder weights are missing: {path}")
    return path


def _load_encoder(weights: Path):
    """Resemblyzer's VoiceEncoder network (LSTM 40->256 x3, linear 256->256, ReLU, L2 norm)
    with the checkpoint's weights, in eval mode on CPU. Called as encoder(mels, lengths)."""
    import torch
    from torch import nn

    class SpeakerEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(_N_MELS, _HIDDEN, _LAYERS, batch_first=True)
            self.linear = nn.Linear(_HIDDEN, _HIDDEN)

        def forward(self, mels: torch.Tensor, lengths: list[int]) -> torch.Tensor:
            # Packing makes the final hidden state that of each window's own last frame.
            packed = nn.utils.rnn.pack_padded_sequence(
                mels, torch.tensor(lengths), batch_first=True, enforce_sorted=False
            )
            _, (hidden, _) = self.lstm(packed)
            raw = torch.relu(self.linear(hidden[-1]))
            return raw / torch.linalg.vector_norm(raw, dim=1, keepdim=True).clamp_min(1e-12)

    checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
    state = {k: v for k, v in checkpoint["model_state"].items() if k.startswith(("lstm.", "linear."))}
    model = SpeakerEncoder()
    model.load_state_dict(state, strict=True)
    return model.eval()


# --- clustering ----------------------------------------------------------------------------


def cluster(embeddings: np.ndarray, max_speakers: int, min_speakers: int, options: DiarizationOptions) -> np.ndarray:
    """Speaker index per embedding row (0-based, not yet in order of appearance).

    The count comes from the largest eigengap of the pruned affinity's normalised Laplacian,
    within [min_speakers, max_speakers]; then clusters with near-identical centroids merge
    (never below min_speakers).
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1 or max_speakers == 1:
        return np.zeros(n, dtype=int)
    normed = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(1e-12)
    affinity = _pruned_affinity(normed, options)
    eigenvalues, eigenvectors = _laplacian_spectrum(affinity)
    upper = min(max_speakers, n - 1)
    lower = min(min_speakers, upper)
    if upper <= 1:
        labels = np.zeros(n, dtype=int)
    else:
        gaps = np.diff(eigenvalues[: upper + 1])  # gaps[i]: between eigenvalue i and i+1 -> i+1 clusters
        k = int(np.argmax(gaps[lower - 1 : upper])) + lower
        labels = _assign(eigenvectors[:, :k], k) if k > 1 else np.zeros(n, dtype=int)
    return _merge_similar(normed, labels, options.merge_similarity, min_speakers)


def _pruned_affinity(normed: np.ndarray, options: DiarizationOptions) -> np.ndarray:
    """Cosine affinity with each row's weaker entries zeroed, then symmetrised: keeps the
    graph's within-speaker edges and cuts most between-speaker ones."""
    n = len(normed)
    affinity = np.clip(normed @ normed.T, 0.0, 1.0)
    keep = min(n, max(options.prune_min, int(np.ceil(options.prune_keep * n))))
    if keep < n:
        threshold = -np.partition(-affinity, keep - 1, axis=1)[:, keep - 1 : keep]
        affinity = np.where(affinity >= threshold, affinity, 0.0)
    return (affinity + affinity.T) / 2.0


def _laplacian_spectrum(affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of I - D^-1/2 A D^-1/2."""
    degree = affinity.sum(axis=1)
    scale = 1.0 / np.sqrt(np.clip(degree, 1e-12, None))
    laplacian = np.eye(len(affinity)) - scale[:, None] * affinity * scale[None, :]
    values, vectors = np.linalg.eigh(laplacian)
    return values, vectors


def _assign(spectral: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    rows = spectral / np.linalg.norm(spectral, axis=1, keepdims=True).clip(1e-12)
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(rows)


def _merge_similar(normed: np.ndarray, labels: np.ndarray, threshold: float, min_speakers: int) -> np.ndarray:
    """Merges the two clusters with the most similar centroids while that similarity is at
    least `threshold` (the single-speaker guard, and its generalisation to k > 2)."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels)
        if len(ids) <= max(min_speakers, 1):
            return labels
        centroids = np.stack([normed[labels == i].mean(axis=0) for i in ids])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True).clip(1e-12)
        similarity = centroids @ centroids.T
        np.fill_diagonal(similarity, -1.0)
        a, b = np.unravel_index(np.argmax(similarity), similarity.shape)
        if similarity[a, b] < threshold:
            return labels
        labels[labels == ids[b]] = ids[a]


# --- turns -----------------------------------------------------------------------------------


def _turns(
    regions: list[tuple[float, float]],
    windows: list[tuple[float, float]],
    labels: np.ndarray,
    min_turn: float,
) -> list[SpeakerTurn]:
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
    pieces = _join(pieces)
    pieces = _absorb_short(pieces, min_turn)
    return _number_by_appearance(pieces)


def _join(pieces: list[list]) -> list[list]:
    """Joins touching pieces of the same speaker."""
    out: list[list] = []
    for speaker, start, end in pieces:
        if out and out[-1][0] == speaker and start - out[-1][2] <= 1e-6:
            out[-1][2] = end
        else:
            out.append([speaker, start, end])
    return out


def _absorb_short(pieces: list[list], min_turn: float) -> list[list]:
    """Gives each turn shorter than min_turn (shortest first) the speaker of its nearer
    neighbour (by gap), then rejoins. Isolated short turns keep their speaker."""
    pieces = [p[:] for p in pieces]
    while len(pieces) > 1:
        order = sorted(range(len(pieces)), key=lambda i: pieces[i][2] - pieces[i][1])
        changed = False
        for i in order:
            speaker, start, end = pieces[i]
            if end - start >= min_turn:
                break
            neighbours = []
            if i > 0 and pieces[i - 1][0] != speaker:
                neighbours.append((start - pieces[i - 1][2], pieces[i - 1][0]))
            if i + 1 < len(pieces) and pieces[i + 1][0] != speaker:
                neighbours.append((pieces[i + 1][1] - end, pieces[i + 1][0]))
            if not neighbours:
                continue
            pieces[i][0] = min(neighbours)[1]
            pieces = _join(pieces)
            changed = True
            break
        if not changed:
            break
    return pieces


def _number_by_appearance(pieces: list[list]) -> list[SpeakerTurn]:
    numbers: dict[int, int] = {}
    turns = []
    for speaker, start, end in pieces:
        number = numbers.setdefault(speaker, len(numbers))
        turns.append(SpeakerTurn(number, round(start, 3), round(end, 3)))
    return turns
