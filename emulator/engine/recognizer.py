"""Speech recognition with faster-whisper: samples in, segments of timed words out.

Knows nothing of AWS. Models load once per process and are shared by every job
(CTranslate2 serves concurrent calls from `num_workers` threads).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.missed_speech import accept, gap_needs_speech, uncovered
from emulator.engine.repetition import cut_loops, find_loops
from emulator.engine.vad import share_speech_probabilities


@dataclass(frozen=True)
class Word:
    """A recognised word as Whisper spells it, punctuation attached ("Americans,").
    start, end: seconds from the start of the audio; probability: 0..1."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """A decoded span (after VAD): seconds, its text, its words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]


def shift_segment(segment: Segment, offset: float) -> Segment:
    """The same segment `offset` seconds later (for audio transcribed in pieces)."""
    return Segment(
        segment.start + offset,
        segment.end + offset,
        segment.text,
        tuple(Word(w.start + offset, w.end + offset, w.text, w.probability) for w in segment.words),
    )


@dataclass(frozen=True)
class Transcription:
    language: str  # ISO 639-1 code the model decoded in
    language_probability: float  # 0..1
    duration: float  # seconds of audio given
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class RecognitionOptions:
    """Decoder options. language: ISO 639-1 code, None to detect (multilingual models)."""

    language: str | None = None
    beam_size: int = 5
    vad_filter: bool = True
    vad_parameters: dict = field(default_factory=dict)
    initial_prompt: str | None = None
    hotwords: str | None = None


# Seed of CTranslate2's sampling, which faster-whisper's temperature fallback uses (a window whose
# beam-search result fails the compression-ratio or log-probability check is decoded again by
# sampling at temperatures 0.2 ... 1.0). CTranslate2 seeds each of its worker threads' generator
# from this once, at the thread's first sample; set before any model loads, the same media and
# settings give the same transcript in every process (README: Deterministic results).
SAMPLING_SEED = 20260101
# CTranslate2's generators are per decoding thread and cannot be seeded again, so a second decode
# of media that fell back to sampling draws other samples: the same file could come out with
# other words in a ShowSpeakerLabels job than in the plain one run just before (issue 15). The
# recognizer keeps the results of the last SAMPLED_KEPT decodes that sampled, by media and
# options, and answers the same request with the same words. Decodes that never sampled are
# deterministic and are not kept (a job on them always runs, and takes its time).
SAMPLED_KEPT = 32


@dataclass(frozen=True)
class ModelLoadOptions:
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: CTranslate2's default
    num_workers: int = 1  # concurrent transcribe() calls the model serves in parallel


class Recognizer:
    """Loads each model once, on first use, and transcribes with it.

    `resolve_model` maps a model name to a directory (the model store). Thread-safe.
    """

    def __init__(self, resolve_model: Callable[[str], Path], load_options: ModelLoadOptions):
        self._resolve_model = resolve_model
        self._load_options = load_options
        self._models: dict[str, WhisperModel] = {}
        self._lock = threading.Lock()
        self._sampled: OrderedDict[str, Transcription] = OrderedDict()  # see SAMPLED_KEPT
        ctranslate2.set_random_seed(SAMPLING_SEED)  # before any model (and its threads) exists
        share_speech_probabilities()  # transcribe's VAD pass serves the later speech questions

    def loaded(self) -> list[str]:
        return sorted(self._models)

    def model(self, name: str) -> WhisperModel:
        with self._lock:
            if name not in self._models:
                o = self._load_options
                self._models[name] = WhisperModel(
                    str(self._resolve_model(name)),
                    device=o.device,
                    compute_type=o.compute_type,
                    cpu_threads=o.cpu_threads,
                    num_workers=o.num_workers,
                    local_files_only=True,
                )
            return self._models[name]

    def transcribe(
        self,
        samples: np.ndarray,
        model_name: str,
        options: RecognitionOptions,
        progress: Callable[[float], None] | None = None,
        speech: Callable[[], Sequence[tuple[float, float]]] | None = None,
    ) -> Transcription:
        """samples: float32 mono 16 kHz, shape (n,). Blocking: run it in a worker thread.
        progress: called as each segment is decoded with the fraction of the samples done
        (segment end / duration, 0..1), and with 1.0 at the end.
        speech: the VAD's speech regions of `samples` ((start, end) seconds, sorted), asked
        for only when a stretch without words is long enough to hide speech: stretches of
        speech Whisper left without words are decoded again on their own
        (emulator.engine.missed_speech). None: no such check.

        The same samples, model and options as an earlier call whose decoding fell back to
        sampling give that call's result again (SAMPLED_KEPT)."""
        key = _request_key(samples, model_name, options, speech is not None) if self._sampled else None
        with self._lock:
            kept = self._sampled.get(key) if key else None
            if kept is not None:
                self._sampled.move_to_end(key)
        if kept is not None:
            if progress is not None:
                progress(1.0)
            return kept
        model = self.model(model_name)
        segments, info = model.transcribe(
            samples,
            language=options.language,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=options.vad_filter,
            vad_parameters=options.vad_parameters or None,
            initial_prompt=options.initial_prompt,
            hotwords=options.hotwords,
        )
        duration = len(samples) / SAMPLE_RATE
        decoded = []
        sampled = False
        for s in segments:  # a generator: each segment is decoded as it is asked for
            decoded.append(_segment(s))
            sampled = sampled or float(s.temperature or 0.0) > 0.0
            if find_loops([w.text for w in decoded[-1].words]):
                decoded[-1] = self._without_loop(model, samples, decoded[-1], options)
                sampled = True  # its fallback may have sampled
            if progress is not None and duration > 0:
                progress(min(1.0, float(s.end) / duration))
        if speech is not None:
            decoded, resampled = self.with_missed_speech(model, samples, decoded, options, speech)
            sampled = sampled or resampled
        if progress is not None:
            progress(1.0)
        result = Transcription(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=duration,
            segments=tuple(decoded),
        )
        if sampled:
            self._keep(key or _request_key(samples, model_name, options, speech is not None), result)
        return result

    def _keep(self, key: str, result: Transcription) -> None:
        with self._lock:
            self._sampled[key] = result
            self._sampled.move_to_end(key)
            while len(self._sampled) > SAMPLED_KEPT:
                self._sampled.popitem(last=False)

    @staticmethod
    def with_missed_speech(
        model: WhisperModel,
        samples: np.ndarray,
        decoded: list[Segment],
        options: RecognitionOptions,
        speech: Callable[[], Sequence[tuple[float, float]]],
    ) -> tuple[list[Segment], bool]:
        """`decoded` with the speech it missed decoded again: each stretch of VAD speech
        without words (missed_speech.uncovered) transcribed on its own, without the text before
        as prompt (the prompt is what carried the error), its segments kept when they pass
        Whisper's quality checks and hold no loop. Returns the segments in time order (a
        segment with a recovered stretch inside it is split around it) and whether a decode
        sampled."""
        spans = [(w.start, w.end) for segment in decoded for w in segment.words]
        if not gap_needs_speech(spans, len(samples) / SAMPLE_RATE):
            return decoded, False
        added: list[Segment] = []
        sampled = False
        for start, end in uncovered(spans, speech()):
            for s in _decode_alone(model, samples, start, end, options, options.initial_prompt):
                sampled = sampled or float(s.temperature or 0.0) > 0.0
                if not accept(s.avg_logprob, s.compression_ratio, s.no_speech_prob):
                    continue
                segment = shift_segment(_segment(s), start)
                if segment.words and not find_loops([w.text for w in segment.words]):
                    added.append(segment)
        if not added:
            return decoded, sampled
        return _in_time_order(decoded, added), sampled

    @staticmethod
    def _without_loop(model: WhisperModel, samples: np.ndarray, segment: Segment, options: RecognitionOptions):
        """A segment with a repetition loop (engine.repetition) decoded again on its own audio,
        without the previous text as prompt and with temperature fallback (what breaks most
        loops); if the loop stays, it is cut to two repeats. Whisper's loops repeat words
        nobody said: AWS's transcripts have none (issue 15)."""
        redone = _decode_alone(model, samples, segment.start, segment.end, options, initial_prompt=None)
        words = [w for s in redone for w in _segment(s).words]
        words = [Word(w.start + segment.start, w.end + segment.start, w.text, w.probability) for w in words]
        if not words:
            return segment
        words = cut_loops(words, text_of=lambda w: w.text)
        return Segment(segment.start, segment.end, "".join(w.text for w in words).strip(), tuple(words))


def _decode_alone(
    model: WhisperModel,
    samples: np.ndarray,
    start: float,
    end: float,
    options: RecognitionOptions,
    initial_prompt: str | None,
) -> list:
    """faster-whisper's segments of samples[start:end] (seconds) decoded on their own: no VAD
    (the stretch was chosen), no earlier text as prompt (it is what carried a loop or a skip),
    temperature fallback as usual. Times are relative to `start`."""
    first, last = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    segments, _ = model.transcribe(
        samples[first:last],
        language=options.language,
        beam_size=options.beam_size,
        word_timestamps=True,
        vad_filter=False,
        condition_on_previous_text=False,
        initial_prompt=initial_prompt,
        hotwords=options.hotwords,
    )
    return list(segments)


def _in_time_order(decoded: list[Segment], added: list[Segment]) -> list[Segment]:
    """All segments by time, a decoded segment whose words start on both sides of an added one
    split around it (none starts inside, or the added stretch would not have been missed)."""
    pieces = list(decoded)
    for new in added:
        split: list[Segment] = []
        for segment in pieces:
            before = tuple(w for w in segment.words if w.start < new.start)
            after = tuple(w for w in segment.words if w.start >= new.start)
            if before and after:
                split.append(_with_words(segment, before))
                split.append(_with_words(segment, after))
            else:
                split.append(segment)
        pieces = split
    return sorted(pieces + added, key=lambda s: (s.words[0].start if s.words else s.start, s.start))


def _with_words(segment: Segment, words: tuple[Word, ...]) -> Segment:
    return Segment(words[0].start, words[-1].end, "".join(w.text for w in words).strip(), words)


def _request_key(samples: np.ndarray, model_name: str, options: RecognitionOptions, checked: bool) -> str:
    """A digest of everything a decode depends on: the samples' bytes, the model, the options,
    whether missed speech is checked."""
    digest = hashlib.blake2b(np.ascontiguousarray(samples, dtype=np.float32).tobytes(), digest_size=20)
    settings = (
        model_name,
        options.language,
        options.beam_size,
        options.vad_filter,
        sorted(options.vad_parameters.items()),
        options.initial_prompt,
        options.hotwords,
        checked,
    )
    digest.update(repr(settings).encode())
    return digest.hexdigest()


def _segment(s) -> Segment:
    """faster-whisper's segment as ours."""
    return Segment(
        start=float(s.start),
        end=float(s.end),
        text=s.text.strip(),
        words=tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in (s.words or ())),
    )


def supports_language(tag: str) -> bool:
    """True when Whisper can recognise the language of `tag`: a BCP-47 tag ("en-US", "ckb-IQ")
    or an ISO 639 code ("de"); only the part before the first "-" counts. Source:
    faster-whisper's tokenizer language table (private, read here and nowhere else)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tag.split("-")[0] in _LANGUAGE_CODES
