"""Streaming speech recognition: audio chunks in, partial and final results out.

Knows nothing of AWS or HTTP. One `StreamingTranscriber` per audio channel of a stream;
every transcriber shares the process's models through `Recognizer` (never one model per
stream). Driven by audio time only (no wall clock): a replay faster than real time gives
the same results as a live client sending the same chunks, and longer chunks only mean
fewer partials (one `accept` call decodes at most one partial, whatever its length).

Usage (the transport, per channel; `accept` and `finish` block, so run them in a thread):

    transcriber = StreamingTranscriber(recognizer, StreamingOptions(language="en"))
    for chunk in chunks:                       # float32 mono 16 kHz, any length
        for result in transcriber.accept(chunk):
            send(result)                       # partials, and a final when an utterance ends
    for result in transcriber.finish():        # end of audio: the final of what is pending
        send(result)

A transport that falls behind (decodes slower than the audio arrives, e.g. many streams on
few cores) catches up by passing the chunks that queued meanwhile to ONE `accept` call.

Policy (after Machacek et al., "Turning Whisper into Real-Time Transcription System", 2023):
- Silero VAD (the ONNX model shipped with faster-whisper, run incrementally with its state
  carried between chunks) splits the stream into utterances: one opens on speech and closes
  after `end_silence_s` of silence, or is cut at a committed word once longer than
  `max_utterance_s`.
- While an utterance is open, all its audio is re-decoded (greedy) `first_partial_s` after
  the speech began, then every `step_s` of new audio, and a partial result is emitted when
  the hypothesis changed. Words on which consecutive hypotheses agree are committed
  (LocalAgreement-n, `STABILITY_POLICIES`); when a stability level is asked for they are
  marked `stable` and never change again, neither in later partials nor in the final.
- When the utterance closes it is decoded once more with the batch beam (5); the final
  result (`is_partial=False`, same `result_id`) holds the committed words followed by that
  hypothesis after them (without a stability level: that hypothesis alone).
- Each decode is one Whisper window whose encoder sees the utterance plus
  `context_margin_s` of padding, at least `min_context_s`, instead of 30 s: several times
  cheaper on CPU, and as accurate (less padding makes tiny.en repeat itself). It is prompted
  with `initial_prompt` and the text of the previous utterances (measured: -1.4 WER points).
- language None on a multilingual model: each decode identifies the language of its window
  (among `candidate_languages`); the first identification made on at least
  `language_lock_speech_s` of audio is kept for the rest of the stream.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens
from faster_whisper.vad import get_vad_model

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.recognizer import Recognizer
from emulator.engine.repetition import cut_loops

# --------------------------------------------------------------------------------------
# the interface
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamWord:
    """One recognised word. text: as Whisper spells it, punctuation attached ("Hello,"),
    without surrounding spaces; start, end: seconds from the start of the stream;
    confidence: 0..1 (Whisper's word probability); stable: committed by the stabilisation
    policy, it will not change again (in later partials nor in the final). Words of a
    final result are all stable."""

    text: str
    start: float
    end: float
    confidence: float
    stable: bool


@dataclass(frozen=True)
class StreamResult:
    """A partial or final hypothesis of one utterance.

    result_id: uuid4 string, the same for every partial of one utterance and its final.
    start, end: seconds from the start of the stream; start is the same for every result of
    a result_id, a partial ends where the audio decoded for it ends. words: the WHOLE
    utterance so far, in time order, within [start, end] (AWS partials repeat the full
    text). text: the words joined as Whisper spells them (spaces where the language has
    them), stripped. language: the ISO 639-1 code the model decoded in (None only before an
    identification had any speech to go on).
    """

    result_id: str
    start: float
    end: float
    is_partial: bool
    words: tuple[StreamWord, ...]
    text: str
    language: str | None


# stability level -> (hypotheses that must agree on a word, seconds the word must end before
# the end of the decoded audio). AWS PartialResultsStability: "high" stabilises fastest,
# "low" is the most accurate. None (stabilisation not asked for) commits like "medium"
# internally (to know where a too-long utterance may be cut) but reports nothing stable.
STABILITY_POLICIES: dict[str | None, tuple[int, float]] = {
    "high": (2, 0.0),
    "medium": (2, 0.4),
    "low": (3, 0.8),
    None: (2, 0.4),
}


@dataclass(frozen=True)
class StreamingOptions:
    """What to recognise and how. Units in the names: _s seconds.

    language: ISO 639-1 code; None: identify it (multilingual model) from the speech; an
    English-only model always decodes "en". candidate_languages: restrict identification to
    these codes (AWS LanguageOptions). model_name: a model of the ModelStore. initial_prompt,
    hotwords: vocabulary / domain biasing, as in RecognitionOptions. stability: None, "low",
    "medium", "high" (AWS PartialResultsStability), see STABILITY_POLICIES.
    """

    language: str | None
    candidate_languages: tuple[str, ...] = ()
    model_name: str = "tiny.en"
    initial_prompt: str | None = None
    hotwords: str | None = None
    stability: str | None = None
    # --- tuning (defaults measured with bench/streaming.py) ---------------------------
    step_s: float = 1.0  # new audio between two partial decodes of an open utterance
    first_partial_s: float = 0.5  # speech before the first partial decode, and between decodes until one has words
    end_silence_s: float = 0.6  # silence that closes an utterance
    max_utterance_s: float = 15.0  # an utterance growing beyond this is cut at a committed word
    pre_speech_pad_s: float = 0.4  # audio kept before the speech onset VAD reports
    post_speech_pad_s: float = 0.3  # audio kept after the speech end VAD reports
    min_speech_s: float = 0.1  # an utterance with less speech than this (a click) is dropped
    vad_threshold: float = 0.5  # Silero speech probability that opens / keeps speech
    partial_beam_size: int = 1
    final_beam_size: int = 5
    final_temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback, as batch
    min_context_s: float = 10.0  # the encoder sees at least this much (audio + zero padding)
    context_margin_s: float = 3.0  # ... and at least this much zero padding after the audio
    prompt_history_chars: int = 200  # characters of previous utterances' text in the prompt
    language_lock_speech_s: float = 2.0  # the language identified on an utterance this long is kept


# --------------------------------------------------------------------------------------
# voice activity: Silero VAD fed incrementally
# --------------------------------------------------------------------------------------

VAD_WINDOW = 512  # samples per Silero window (32 ms at 16 kHz)
_VAD_CONTEXT = 64  # samples of the previous window the model sees before each window


class SpeechProbabilities:
    """Silero VAD over a stream: feed samples, get one speech probability (0..1) per
    complete 512-sample window, identical to faster-whisper's VAD run on the whole stream at
    once (the recurrent state and the context samples are carried between calls).

    Uses faster-whisper's process-wide ONNX session (thread-safe); the state is per object.
    """

    def __init__(self) -> None:
        self._session = get_vad_model().session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_VAD_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.windows = 0  # windows scored so far

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """samples: float32 mono 16 kHz, shape (n,). Returns probabilities, shape (k,), of the
        k windows these samples complete; window i covers stream samples [512 i, 512 i + 512)."""
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        n = len(data) // VAD_WINDOW * VAD_WINDOW
        self._pending = data[n:].copy()
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        windows = data[:n].reshape(-1, VAD_WINDOW)
        contexts = np.concatenate([self._context[None, :], windows[:-1, -_VAD_CONTEXT:]], axis=0)
        out, self._h, self._c = self._session.run(
            None, {"input": np.concatenate([contexts, windows], axis=1), "h": self._h, "c": self._c}
        )
        self._context = windows[-1, -_VAD_CONTEXT:].copy()
        self.windows += len(windows)
        return out.reshape(-1)


@dataclass
class Endpointer:
    """Utterance boundaries from per-window speech probabilities (Silero's hysteresis).

    Speech opens at the first window with probability >= threshold; it closes once
    `min_silence_windows` consecutive windows are silent (below threshold - 0.15; windows in
    between neither extend nor break a silence), the end being the first silent window.
    Pure state machine, in window indices (VAD_WINDOW samples each).
    """

    threshold: float
    min_silence_windows: int
    in_speech: bool = False
    speech_windows: int = 0  # windows >= threshold since speech opened
    _silence_since: int | None = None

    def step(self, index: int, probability: float) -> tuple[str, int] | None:
        """index: the window's number in the stream. Returns ("start", sample) when speech
        opens at this window, ("end", sample) when it closes, else None."""
        if not self.in_speech:
            if probability < self.threshold:
                return None
            self.in_speech, self.speech_windows, self._silence_since = True, 1, None
            return ("start", index * VAD_WINDOW)
        if probability >= self.threshold:
            self.speech_windows += 1
            self._silence_since = None
        elif probability < max(self.threshold - 0.15, 0.01):
            if self._silence_since is None:
                self._silence_since = index
            if index + 1 - self._silence_since >= self.min_silence_windows:
                self.in_speech = False
                return ("end", self._silence_since * VAD_WINDOW)
        return None


# --------------------------------------------------------------------------------------
# stabilisation: LocalAgreement-n
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HypWord:
    """A word of one hypothesis. raw: as Whisper gives it, leading space included
    (" Hello,"); start, end: seconds from the stream start; probability: 0..1."""

    raw: str
    start: float
    end: float
    probability: float

    @property
    def text(self) -> str:
        return self.raw.strip()


def _norm(text: str) -> str:
    return re.sub(r"[^\w']+", "", text.lower())


def after_committed(words: list[HypWord], committed: list[HypWord], max_ngram: int = 5) -> list[HypWord]:
    """The words of a new hypothesis that continue the committed ones: those starting after
    the last committed word (0.1 s tolerance), less a head that repeats the committed tail
    (up to `max_ngram` words, compared without case and punctuation)."""
    if not committed:
        return list(words)
    last_end = committed[-1].end
    new = [w for w in words if w.start > last_end - 0.1]
    if new and new[0].start - last_end < 1.0:
        for n in range(min(len(committed), len(new), max_ngram), 0, -1):
            if [_norm(w.raw) for w in committed[-n:]] == [_norm(w.raw) for w in new[:n]]:
                return new[n:]
    return new


class LocalAgreement:
    """Commits the words on which the last `agreements` hypotheses agree (same spelling, same
    place after the committed words) and that end at least `tail_guard_s` before the end of
    the audio decoded. Committed words never change."""

    def __init__(self, agreements: int, tail_guard_s: float):
        self.agreements = max(1, agreements)
        self.tail_guard_s = tail_guard_s
        self.committed: list[HypWord] = []
        self._recent: list[list[HypWord]] = []  # the last hypotheses, after the committed words

    def insert(self, hypothesis: list[HypWord], audio_end: float) -> list[HypWord]:
        """hypothesis: the words of a decode of the utterance, in time order; audio_end: where
        that decode's audio ends (seconds). Returns the words it commits (maybe none)."""
        self._recent = [*self._recent, after_committed(hypothesis, self.committed)][-self.agreements :]
        if len(self._recent) < self.agreements:
            return []
        newly: list[HypWord] = []
        for i, word in enumerate(self._recent[-1]):
            if word.end > audio_end - self.tail_guard_s:
                break
            if not all(i < len(h) and h[i].text == word.text for h in self._recent):
                break
            newly.append(word)
        if newly:
            self.committed.extend(newly)
            self._recent = [h[len(newly) :] for h in self._recent]
        return newly

    def pending(self) -> list[HypWord]:
        """The latest hypothesis's words after the committed ones."""
        return list(self._recent[-1]) if self._recent else []


# --------------------------------------------------------------------------------------
# one Whisper window
# --------------------------------------------------------------------------------------

_PREPEND_PUNCTUATIONS = "\"'“¿([{-"
_APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class WindowDecode:
    words: tuple[HypWord, ...]  # times in seconds from the window start
    language: str  # ISO 639-1 code decoded in
    language_probability: float  # 0..1; 1.0 when the language was given
    doubtful: bool = False  # the last temperature tried failed Whisper's checks (repetitive / improbable)


def decode_window(
    model: WhisperModel,
    audio: np.ndarray,
    *,
    language: str | None,
    candidates: tuple[str, ...] = (),
    beam_size: int = 1,
    temperatures: tuple[float, ...] = (0.0,),
    prompt: str | None = None,
    hotwords: str | None = None,
    min_context_s: float = 10.0,
    context_margin_s: float = 3.0,
) -> WindowDecode:
    """Transcribes audio of at most 30 s as ONE Whisper window, with word timestamps.

    audio: float32 mono 16 kHz, shape (n,). The encoder sees the audio zero-padded to
    max(its length + context_margin_s, min_context_s), at most 30 s (Whisper pads to 30 s:
    the encoder's cost grows with the square of its input, and with less padding than this
    tiny.en repeats itself or stops early). language None: the window's most probable
    language (among `candidates` if given) on a multilingual model. Unlike
    WhisperModel.transcribe, the words after the last timestamp token are kept (the newest
    words of a growing buffer) and no second window is decoded. Uses faster-whisper 1.2.1's
    window-level methods (encode, get_prompt, generate_with_fallback, add_word_timestamps).
    """
    features = model.feature_extractor(audio)
    content = min(features.shape[-1] - 1, 3000)
    if content < 2:
        return WindowDecode((), language or "en", 0.0)
    context = min(3000, max(content + int(context_margin_s * 100), int(min_context_s * 100)))
    context += context % 2
    encoder_output = model.encode(pad_or_trim(features[:, :content], context))
    probability = 1.0
    if language is None:
        if model.model.is_multilingual:
            language, probability = _detect(model, encoder_output, candidates)
        else:
            language = "en"
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    options = TranscriptionOptions(
        beam_size=beam_size, best_of=5, patience=1.0, length_penalty=1.0, repetition_penalty=1.0,
        no_repeat_ngram_size=0, log_prob_threshold=-1.0, no_speech_threshold=0.6,
        compression_ratio_threshold=2.4, condition_on_previous_text=False, prompt_reset_on_temperature=0.5,
        temperatures=list(temperatures), initial_prompt=None, prefix=None, suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), without_timestamps=False,
        max_initial_timestamp=1.0, word_timestamps=True, prepend_punctuations=_PREPEND_PUNCTUATIONS,
        append_punctuations=_APPEND_PUNCTUATIONS, multilingual=False, max_new_tokens=None,
        clip_timestamps=[], hallucination_silence_threshold=None, hotwords=hotwords,
    )
    previous = tokenizer.encode(" " + prompt.strip()) if prompt and prompt.strip() else []
    result, avg_logprob, _, compression_ratio = model.generate_with_fallback(
        encoder_output, model.get_prompt(tokenizer, previous, hotwords=hotwords), tokenizer, options
    )
    if result.no_speech_prob > 0.6 and avg_logprob < -1.0:  # Whisper's silence rule
        return WindowDecode((), language, probability)
    doubtful = compression_ratio > options.compression_ratio_threshold or avg_logprob < options.log_prob_threshold
    segments = _segments(tokenizer, result.sequences_ids[0], content / 100)
    if not segments:
        return WindowDecode((), language, probability, doubtful)
    model.add_word_timestamps(
        [segments], tokenizer, encoder_output, content, _PREPEND_PUNCTUATIONS, _APPEND_PUNCTUATIONS,
        last_speech_timestamp=0.0,
    )
    words = [
        HypWord(w["word"], float(w["start"]), float(w["end"]), float(w["probability"]))
        for s in segments
        for w in s.get("words", ())
        if w["word"].strip()
    ]
    return WindowDecode(tuple(without_hallucinations(words)), language, probability, doubtful)


def without_hallucinations(words: list[HypWord]) -> list[HypWord]:
    """A window's words less what Whisper made up: a repetition loop (engine.repetition: a
    sentence over and over, as on a channel whose cancelled leak left a faint residue) cut to
    its first repeat, as a stream cannot wait for the stretch to be decoded again (batch does:
    engine.recognizer); a repeat of the two or more words before it squeezed into less than
    0.1 s a word, wherever it stands (the alignment has no time left for words nobody said);
    then `drop_hallucinated_tail`."""
    words = cut_loops(words, text_of=lambda w: w.raw, keep=1)
    out: list[HypWord] = []
    i = 0
    while i < len(words):
        for n in range(min(len(out), len(words) - i), 1, -1):
            rest = words[i : i + n]
            squeezed = rest[-1].end - rest[0].start < 0.1 * n
            if squeezed and [_norm(w.raw) for w in out[-n:]] == [_norm(w.raw) for w in rest]:
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return drop_hallucinated_tail(out)


def drop_hallucinated_tail(words: list[HypWord]) -> list[HypWord]:
    """Whisper sometimes repeats itself past the end of the speech; the alignment then
    squeezes the extra words into the last instant. Drops a trailing run of two or more
    words that have no duration, and a trailing repetition of the words before it (two
    words or more, compared without case and punctuation) that is squeezed into less than
    0.1 s per word."""
    out = list(words)
    tail = 0
    while tail < len(out) and out[-1 - tail].end - out[-1 - tail].start < 0.005:
        tail += 1
    if tail >= 2:
        out = out[:-tail]
    for n in range(len(out) // 2, 1, -1):
        head, rest = out[-2 * n : -n], out[-n:]
        if [_norm(w.raw) for w in head] == [_norm(w.raw) for w in rest] and rest[-1].end - rest[0].start < 0.1 * n:
            return out[:-n]
    return out


def _detect(model: WhisperModel, encoder_output, candidates: tuple[str, ...]) -> tuple[str, float]:
    """The window's most probable language (among candidates) and its renormalised score."""
    scores = {token[2:-2]: p for token, p in model.model.detect_language(encoder_output)[0]}
    if candidates:
        scores = {c: scores.get(c, 0.0) for c in candidates}
    total = sum(scores.values()) or 1.0
    best = max(scores, key=scores.get)
    return best, scores[best] / total


def _segments(tokenizer: Tokenizer, tokens: list[int], duration: float) -> list[dict]:
    """Splits generated tokens at timestamp tokens into segment dicts (seek, start, end,
    tokens) as faster-whisper's word alignment expects; text after the last timestamp is a
    segment too, ending at `duration`."""
    begin = tokenizer.timestamp_begin
    segments: list[dict] = []
    start, text = 0.0, []
    for token in [*tokens, None]:
        if token is None or token >= begin:
            if text:
                end = duration if token is None else (token - begin) * 0.02
                segments.append({"seek": 0, "start": start, "end": max(end, start), "tokens": text})
                text = []
            if token is not None:
                start = (token - begin) * 0.02
        elif token < tokenizer.eot:
            text.append(token)
    return [s for s in segments if tokenizer.decode(s["tokens"]).strip()]


# --------------------------------------------------------------------------------------
# the transcriber
# --------------------------------------------------------------------------------------


@dataclass
class _Utterance:
    result_id: str
    audio_start: int  # stream sample where its audio starts (pre-speech pad included)
    speech_start: int  # stream sample where VAD heard speech begin
    agreement: LocalAgreement
    decoded_to: int = -1  # stream sample where the last partial decode's audio ended
    hypothesis: list[HypWord] = field(default_factory=list)  # of the last partial decode
    doubtful: bool = True  # the last partial decode failed Whisper's checks (or none yet)
    last_emitted: tuple = ()
    partials_sent: int = 0


@dataclass
class _Buffer:
    """The stream's audio from sample `start` on."""

    start: int = 0
    chunks: list[np.ndarray] = field(default_factory=list)
    length: int = 0

    @property
    def end(self) -> int:
        return self.start + self.length

    def append(self, samples: np.ndarray) -> None:
        self.chunks.append(samples)
        self.length += len(samples)

    def slice(self, a: int, b: int) -> np.ndarray:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        return self.chunks[0][max(0, a - self.start) : max(0, b - self.start)]

    def drop_before(self, sample: int) -> None:
        if sample > self.start:
            kept = self.slice(sample, self.end).copy()
            self.start, self.chunks, self.length = sample, [kept], len(kept)


class StreamingTranscriber:
    """One per audio channel of a stream. Not thread-safe: one caller at a time.

    recognizer: the process's shared Recognizer; the model is loaded now if it was not
    (blocking). Raises ValueError for an unknown stability level or a candidate language the
    model does not know. See the module docstring for the policy.
    """

    def __init__(self, recognizer: Recognizer, options: StreamingOptions):
        if options.stability not in STABILITY_POLICIES:
            raise ValueError(f"stability must be one of {list(STABILITY_POLICIES)}, got {options.stability!r}")
        self.options = options
        self._model: WhisperModel = recognizer.model(options.model_name)
        wanted = {options.language} if options.language else set(options.candidate_languages)
        unknown = sorted(wanted - set(self._model.supported_languages))
        if unknown:
            raise ValueError(f"languages the model {options.model_name!r} does not know: {unknown}")
        multilingual = self._model.model.is_multilingual
        self._language: str | None = options.language or (None if multilingual else "en")
        self._tentative_language: str | None = None
        self._report_stable = options.stability is not None
        self._vad = SpeechProbabilities()
        self._endpointer = Endpointer(
            options.vad_threshold, max(1, round(options.end_silence_s * SAMPLE_RATE / VAD_WINDOW))
        )
        self._buffer = _Buffer()
        self._utterance: _Utterance | None = None
        self._last_end = 0  # stream sample where the previous result ended
        self._history = ""  # text of the previous utterances, for the prompt
        self._finished = False

    # --- public ----------------------------------------------------------------------

    def accept(self, samples: np.ndarray) -> list[StreamResult]:
        """samples: float32 mono 16 kHz, shape (n,), any length. Returns the results this
        chunk produced: the finals of utterances that ended in it, then at most one partial.
        Blocking (a decode is ~0.1-0.3 s of CPU for tiny.en): run it in a worker thread.
        Raises ValueError for non-mono input, RuntimeError after finish()."""
        if self._finished:
            raise RuntimeError("accept() after finish()")
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"samples must be mono, shape (n,), got {samples.shape}")
        if len(samples) == 0:
            return []
        self._buffer.append(samples)
        out: list[StreamResult] = []
        first = self._vad.windows
        for i, probability in enumerate(self._vad.feed(samples)):
            event = self._endpointer.step(first + i, float(probability))
            if event is None:
                continue
            kind, sample = event
            if kind == "start":
                self._open(sample)
            elif self._utterance is not None:
                out.extend(self._close(min(sample + self._samples(self.options.post_speech_pad_s), self._buffer.end)))
        if self._utterance is not None:
            out.extend(self._maybe_partial())
        else:
            # One VAD window more than the pad: an onset window may start before this chunk.
            self._buffer.drop_before(self._buffer.end - self._samples(self.options.pre_speech_pad_s) - VAD_WINDOW)
        return out

    def finish(self) -> list[StreamResult]:
        """End of audio: the final result of the pending utterance, if any. Blocking.
        Further calls return []."""
        if self._finished:
            return []
        self._finished = True
        if self._utterance is None:
            return []
        return self._close(self._buffer.end)

    @property
    def language(self) -> str | None:
        """The language decoded in: the given one, the identified one once fixed, else the
        latest guess (None before any speech)."""
        return self._language or self._tentative_language

    # --- utterances ------------------------------------------------------------------

    @staticmethod
    def _samples(seconds: float) -> int:
        return round(seconds * SAMPLE_RATE)

    def _open(self, speech_start: int) -> None:
        if self._utterance is not None:
            return
        start = max(speech_start - self._samples(self.options.pre_speech_pad_s), self._last_end, self._buffer.start)
        agreements, guard = STABILITY_POLICIES[self.options.stability]
        self._utterance = _Utterance(str(uuid.uuid4()), start, max(speech_start, start),
                                     LocalAgreement(agreements, guard))

    def _maybe_partial(self) -> list[StreamResult]:
        u = self._utterance
        assert u is not None
        o = self.options
        now = self._buffer.end
        if now - u.speech_start < self._samples(o.first_partial_s):
            return []
        step = o.step_s if u.partials_sent else o.first_partial_s
        if u.decoded_to >= 0 and now - u.decoded_to < self._samples(step):
            return []
        u.decoded_to = now
        hypothesis, u.doubtful = self._decode(u.audio_start, now, o.partial_beam_size, (0.0,))
        u.hypothesis = hypothesis
        u.agreement.insert(hypothesis, now / SAMPLE_RATE)
        if now - u.audio_start > self._samples(o.max_utterance_s):
            return self._cut()
        words = [(w, True) for w in u.agreement.committed] + [(w, False) for w in u.agreement.pending()]
        if not words:
            return []
        result = self._partial(u, words, now)
        return [result] if result else []

    def _partial(self, u: _Utterance, words: list[tuple[HypWord, bool]], end: int) -> StreamResult | None:
        """The partial result of these words, or None when it would repeat the last one."""
        result = self._result(u, words, end, partial=True)
        key = tuple((w.text, w.stable) for w in result.words)
        if key == u.last_emitted:
            return None
        u.last_emitted = key
        u.partials_sent += 1
        return result

    def _cut(self) -> list[StreamResult]:
        """The open utterance outgrew max_utterance_s: its committed words become its final
        result and a new utterance (new result_id) starts where the last of them ends; the
        rest of the latest hypothesis is at once the new utterance's first partial."""
        u = self._utterance
        assert u is not None
        committed = list(u.agreement.committed)
        pending = u.agreement.pending()
        if not committed:  # nothing agreed on: keep all but the newest words of the latest guess
            committed, pending = (pending[:-2], pending[-2:]) if len(pending) > 2 else ([], pending)
        self._utterance = None
        if not committed:  # max_utterance_s of audio without a word: let it go
            end = self._buffer.end
            results = [self._result(u, [], end, partial=False)] if u.partials_sent else []
            self._last_end = end
            self._buffer.drop_before(end - self._samples(self.options.pre_speech_pad_s))
            self._open(end)
            return results
        cut = min(max(self._samples(committed[-1].end), u.audio_start), self._buffer.end)
        result = self._result(u, [(w, True) for w in committed], cut, partial=False)
        self._remember(result)
        self._last_end = cut
        self._buffer.drop_before(cut)
        self._open(cut)
        rest = [w for w in pending if w.start >= cut / SAMPLE_RATE - 0.1]
        if not rest:
            return [result]
        new = self._utterance
        assert new is not None
        new.agreement.insert(rest, self._buffer.end / SAMPLE_RATE)
        new.decoded_to, new.hypothesis, new.doubtful = u.decoded_to, rest, True
        first = self._partial(new, [(w, False) for w in rest], self._buffer.end)
        return [result, first] if first else [result]

    def _close(self, end: int) -> list[StreamResult]:
        u = self._utterance
        assert u is not None
        self._utterance = None
        end = max(end, u.audio_start)
        self._last_end = end
        heard = self._endpointer.speech_windows * VAD_WINDOW
        words: list[tuple[HypWord, bool]] = []
        o = self.options
        if heard >= self._samples(o.min_speech_s) or u.partials_sent:
            if u.decoded_to >= end and not u.doubtful and o.final_beam_size == o.partial_beam_size:
                # The last partial decode already heard all of it, with the final's beam.
                hypothesis = u.hypothesis
            else:
                hypothesis, _ = self._decode(u.audio_start, end, o.final_beam_size, o.final_temperatures)
            if self._report_stable:
                committed = list(u.agreement.committed)
                words = [(w, True) for w in [*committed, *after_committed(hypothesis, committed)]]
            else:
                words = [(w, True) for w in hypothesis]
        self._buffer.drop_before(end - self._samples(self.options.pre_speech_pad_s))
        if not words and not u.partials_sent:
            return []
        result = self._result(u, words, end, partial=False)
        self._remember(result)
        return [result]

    def _remember(self, result: StreamResult) -> None:
        if result.text:
            self._history = (self._history + " " + result.text).strip()[-self.options.prompt_history_chars :]

    def _result(self, u: _Utterance, words: list[tuple[HypWord, bool]], end: int, partial: bool) -> StreamResult:
        """Clamps word times into [start, end], non-decreasing."""
        start_s, end_s = u.audio_start / SAMPLE_RATE, end / SAMPLE_RATE
        out: list[StreamWord] = []
        previous = start_s
        for w, stable in words:
            ws = min(max(w.start, previous), end_s)
            we = min(max(w.end, ws), end_s)
            out.append(StreamWord(w.text, round(ws, 3), round(we, 3), round(w.probability, 4),
                                  (stable and self._report_stable) or not partial))
            previous = we
        text = "".join(w.raw for w, _ in words).strip()
        return StreamResult(u.result_id, round(start_s, 3), round(end_s, 3), partial, tuple(out), text, self.language)

    # --- decoding --------------------------------------------------------------------

    def _decode(self, a: int, b: int, beam_size: int, temperatures: tuple[float, ...]) -> tuple[list[HypWord], bool]:
        """Words of the stream audio [a, b) (samples), in stream seconds, and whether the
        decode is doubtful (WindowDecode.doubtful)."""
        audio = self._buffer.slice(a, b)
        if len(audio) < VAD_WINDOW:
            return [], False
        o = self.options
        prompt = " ".join(p for p in (o.initial_prompt, self._history) if p) or None
        decoded = decode_window(
            self._model, audio, language=self._language, candidates=o.candidate_languages,
            beam_size=beam_size, temperatures=temperatures, prompt=prompt, hotwords=o.hotwords,
            min_context_s=o.min_context_s, context_margin_s=o.context_margin_s,
        )
        if self._language is None:
            self._tentative_language = decoded.language
            if b - a >= self._samples(o.language_lock_speech_s):
                self._language = decoded.language
        offset = a / SAMPLE_RATE
        return [HypWord(w.raw, w.start + offset, w.end + offset, w.probability) for w in decoded.words], decoded.doubtful
