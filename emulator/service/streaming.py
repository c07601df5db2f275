"""Streaming transcription sessions (StartStreamTranscription, StartMedicalStreamTranscription):
Transcribe semantics, independent of the transport. Plain Python + asyncio.

Use (by the streaming transports, HTTP/2 and WebSocket,
which turn parameters into the plain dict below and results into wire messages):

    sessions = StreamingSessions(recognizer, models, vocabularies=..., ...)   # one per process
    session = sessions.open(ctx, parameters, medical=False, transport="http2")  # short names
        # raises AWSError (BadRequestException, ConflictException, ...) BEFORE the stream starts
    try:
        for each AudioEvent payload:                            # raw audio bytes of one event
            results = await session.audio(payload)              # list[TranscriptResult]
        results = await session.end()                           # end of audio: final results
    except AWSError as error:                                   # during the stream
        session.fail(error)                                     # the error ends it (logged)
    finally:
        session.close()                                         # always: frees the session id

`session.request_id`, `session.session_id` and `session.settings.echoed` (short name, value)
are what the transport echoes back when the stream starts.

Logs (logger `emulator.streaming`, info): one line when a session opens (operation, transport,
session id, language, sample rate, encoding) and one when it closes (audio seconds, result
events sent, final results, how it ended: "end of stream", the error type that ended it
(at warning), or "client disconnected").

An empty AudioEvent payload means end of stream: `audio(b"")` returns the final results and the
transport should stop reading.

Output: `emulator.service.stream_results.TranscriptResult` (Smithy `Result` / `MedicalResult`),
one per partial or final result; partials repeat the whole utterance under one ResultId. The
medical shapes have no VocabularyFilterMatch, Stable, LanguageCode.

What each setting does here:
* recognition: `emulator.engine.streaming.StreamingTranscriber` (one per channel, on the
  process's shared model), called in worker threads;
* partial results repeat the whole utterance under one ResultId until its final; `Stable`
  (with partial-results stabilization) is the engine's committed flag; `Confidence` is given
  on final results (Whisper's word probability);
* vocabulary: its phrases bias the decoder (hotwords) and DisplayAs rewrites them; vocabulary
  filter: mask (`***`), remove, or tag (`VocabularyFilterMatch: true`), on partials and finals;
* show-speaker-label: at each final result the audio heard so far is diarized (the batch
  Diarizer) and each word takes the speaker of the turn it overlaps most; partials use the
  turns of the last diarization ("0" before the first);
* channel identification: two interleaved channels, one transcriber each, ChannelId ch_0/ch_1;
  each channel less the other talker's voice leaked into it (emulator.engine.crosstalk's
  StreamingCanceller, as batch jobs cancel it but without the residue suppressor
  (STREAM_CROSSTALK); a channel goes out unchanged until its leak has been heard alone for a
  second, and by 4 ms later than it came in);
* PII identification / redaction (en-US): on final results only, as AWS documents
  ("performed only upon complete transcription of the audio segments"): `Entities`
  [{StartTime, EndTime, Category "PII", Type, Content, Confidence}]; redaction writes `[PII]`
  for each word of an entity;
* language identification: the multilingual model picks among LanguageOptions; each result
  carries LanguageCode, finals also LanguageIdentification [{LanguageCode, Score}] scored on
  the result's audio;
* medical: same recognition (en-US); `content-identification-type: PHI` reports the PII
  detector's finds as Category "PHI".
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from emulator.aws.errors import AWSError, BadRequestException, ConflictException, LimitExceededException
from emulator.engine.crosstalk import CrosstalkOptions, StreamingCanceller
from emulator.engine.media import SAMPLE_RATE
from emulator.engine.stream_audio import AudioDecodeError, audio_decoder
from emulator.engine.streaming import StreamingOptions, StreamingTranscriber, StreamResult
from emulator.service.job_settings import aws_language_code
from emulator.service.segmentation import cancelled_away, heard_from_afar
from emulator.service.stream_postprocessing import StreamPostProcessor, label_speakers, tokens_from_words
from emulator.service.stream_results import (
    LanguageScore,
    ResultAlternative,
    ResultItem,
    TranscriptResult,
)
from emulator.service.streaming_settings import StreamSettings, parse_settings
from emulator.service.tokens import PRONUNCIATION, Token, join_tokens

log = logging.getLogger(__name__)
session_log = logging.getLogger("emulator.streaming")

# Streams cancel the leak with the filter alone: the residue suppressor that batch jobs use
# (engine/crosstalk.py) made the worst stream channel 6.1 points over its talker's own track
# instead of 0.0 (bench/stream_channels.py: stereo1's ch_0 lost 2 words and stereo1_room's 1,
# while stereo0_room's ch_0 gained 4); in batch it takes the worst channel from 4.5 points to 0.0.
STREAM_CROSSTALK = CrosstalkOptions(residue_over=0.0)
MAX_STREAM_SECONDS = 4 * 3600.0  # AWS: streams up to 4 hours
# Emulator wording where AWS's is not published.
STREAM_TOO_LONG = "Your stream is too long. The maximum audio duration of a stream is 4 hours."
SESSION_IN_USE = (
    "A stream with the session ID {session_id} is already in progress. "
    "Use a different session ID or wait for that stream to end."
)
UNDECODABLE_AUDIO = (
    "The audio couldn't be decoded as {encoding} at {rate} Hz. "
    "Check the MediaEncoding and MediaSampleRateHertz of your request and the audio you send."
)
DIARIZATION_MAX_SPEAKERS = 5  # streaming has no MaxSpeakerLabels; the most voices reported
DIARIZATION_WINDOW_SECONDS = 600.0  # audio kept for diarization and language scoring


class StreamingSessions:
    """Opens streams; shares the process's recognizer, models, detectors among them.

    recognizer: emulator.engine.recognizer.Recognizer; models: emulator.storage.models.ModelStore;
    vocabularies / vocabulary_filters / language_models: the resource services (None: names
    cannot be resolved); pii_detector: emulator.engine.pii.PiiDetector; diarizer:
    emulator.engine.diarization.Diarizer; supported_language(aws_code) -> bool;
    medical_vocabularies: resolves the vocabulary-name of medical streams.
    """

    def __init__(
        self,
        recognizer,
        models,
        vocabularies=None,
        vocabulary_filters=None,
        language_models=None,
        pii_detector=None,
        diarizer=None,
        supported_language: Callable[[str], bool] | None = None,
        medical_vocabularies=None,
    ):
        self.recognizer = recognizer
        self.medical_vocabularies = medical_vocabularies
        self.models = models
        self.vocabularies = vocabularies
        self.vocabulary_filters = vocabulary_filters
        self.language_models = language_models
        self.pii_detector = pii_detector
        self.diarizer = diarizer
        self.supported_language = supported_language
        self._active: dict[str, StreamSession] = {}
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return len(self._active)

    def open(
        self, ctx, parameters: dict[str, str], medical: bool, transport: str = "-", operation: str | None = None
    ) -> "StreamSession":
        """Validate the start parameters (short names) and reserve the session id.

        ctx: has .region and .account_id. transport: "http2" or "websocket" (for the log).
        operation: the AWS operation the log lines name (default: from `medical`).
        Raises ValidationException / BadRequestException (settings, unknown vocabulary or
        filter), ConflictException (session id in use). Quick (no model work): may run on
        the event loop.
        """
        settings = parse_settings(parameters, medical, self.supported_language)
        plan = self._plan(ctx.region, settings)
        with self._lock:
            if settings.session_id in self._active:
                raise ConflictException(SESSION_IN_USE.format(session_id=settings.session_id))
            session = StreamSession(self, settings, plan, transport)
            session.operation = operation or session.operation
            self._active[settings.session_id] = session
        session.log_open(ctx.region)
        return session

    def _release(self, session: "StreamSession") -> None:
        with self._lock:
            if self._active.get(session.session_id) is session:
                del self._active[session.session_id]

    def _plan(self, region: str, settings: StreamSettings) -> "_Plan":
        """Resolve names (vocabulary, filter, language model) into what recognition needs."""
        language = settings.language_code
        vocabulary = None
        if settings.vocabulary_name and language:
            service = self.medical_vocabularies if settings.medical else self.vocabularies
            vocabulary = self._require(service, "vocabulary").terms_for_job(region, settings.vocabulary_name, language)
        filter_words: list[str] = []
        if settings.vocabulary_filter_name and language:
            filter_words = self._require(self.vocabulary_filters, "vocabulary filter").words_for_job(
                region, settings.vocabulary_filter_name, language
            )
        prompt = None
        if settings.language_model_name and language:
            prompt = self._require(self.language_models, "language model").prompt_for_job(
                region, settings.language_model_name, language
            ) or None
        if language:
            base = language.split("-")[0]
            model_name = self.models.model_for_language(base)
            candidates: tuple[str, ...] = ()
        else:
            base = None
            model_name = self.models.model_for_language("*")
            candidates = tuple(dict.fromkeys(code.split("-")[0] for code in settings.language_options))
        hotwords = ", ".join(entry.phrase for entry in vocabulary.entries) if vocabulary else None
        stability = settings.partial_results_stability if settings.enable_partial_results_stabilization else None
        options = StreamingOptions(
            language=base,
            candidate_languages=candidates,
            model_name=model_name,
            initial_prompt=prompt,
            hotwords=hotwords or None,
            stability=stability,
        )
        return _Plan(options, vocabulary, filter_words)

    @staticmethod
    def _require(service, what: str):
        if service is None:
            raise BadRequestException(f"The emulator was started without {what} support.")
        return service


class _KeptAudio:
    """One channel's kept audio (float32 samples), as it comes: chunks are appended, and every
    PIECE_RUN of them joined into one piece, so a span is cut from a few pieces, each sample is
    copied about once, and no result joins minutes of audio to read a few seconds of it."""

    PIECE_RUN = 64

    def __init__(self) -> None:
        self._pieces: list[np.ndarray] = []  # joined runs
        self._fresh: list[np.ndarray] = []  # chunks since the last join

    def append(self, chunk: np.ndarray) -> None:
        self._fresh.append(chunk)
        if len(self._fresh) >= self.PIECE_RUN:
            self._pieces.append(np.concatenate(self._fresh))
            self._fresh = []

    def span(self, a: int, b: int | None) -> np.ndarray:
        """Samples a..b-1 of the kept audio (b None: to the end), float32."""
        out, at = [], 0
        for piece in (*self._pieces, *self._fresh):
            lo, at = at, at + len(piece)
            if at <= a:
                continue
            if b is not None and lo >= b:
                break
            out.append(piece[max(a - lo, 0) : None if b is None else b - lo])
        if not out:
            return np.zeros(0, dtype=np.float32)
        return out[0] if len(out) == 1 else np.concatenate(out)

    def drop_first(self, count: int) -> None:
        """Forgets the first `count` samples (one copy of the rest)."""
        rest = self.span(count, None)
        self._pieces, self._fresh = ([rest] if len(rest) else []), []


@dataclass
class _Plan:
    options: StreamingOptions
    vocabulary: object | None
    filter_words: list[str]


@dataclass
class _Channel:
    transcriber: StreamingTranscriber
    label: str  # ch_0, ch_1


class StreamSession:
    """One stream. Created by StreamingSessions.open; see the module docstring for the protocol.

    `audio` and `end` must not run concurrently (one transport task feeds a session).
    """

    def __init__(self, owner: StreamingSessions, settings: StreamSettings, plan: _Plan, transport: str = "-"):
        self._owner = owner
        self.settings = settings
        self._plan = plan
        self._post = StreamPostProcessor(settings, plan.vocabulary, plan.filter_words, owner.pii_detector)
        self.transport = transport
        self.operation = "StartMedicalStreamTranscription" if settings.medical else "StartStreamTranscription"
        self.session_id = settings.session_id
        self.request_id = str(uuid.uuid4())
        self._decoder = audio_decoder(settings.media_encoding, settings.sample_rate, settings.channels)
        self._channels: list[_Channel] | None = None
        # Two microphones in one room hear both talkers: each channel is recognised cleaned.
        two = settings.enable_channel_identification and settings.channels == 2
        self._canceller = StreamingCanceller(SAMPLE_RATE, STREAM_CROSSTALK) if two else None
        self._heard = [_KeptAudio() for _ in range(settings.channels)]
        self._cleaned = [_KeptAudio() for _ in range(settings.channels)]  # with the canceller
        self._heard_samples = 0  # per channel, since the start
        self._kept_from = 0  # sample index of the first kept sample (DIARIZATION_WINDOW_SECONDS)
        self._turns: list = []
        self._announced: set[str] = set()  # result ids sent as partials, awaiting their final
        self._lock = asyncio.Lock()
        self._ended = False
        self._closed = False
        self.started = time.monotonic()
        self.results_sent = 0
        self.final_results_sent = 0
        self._ended_by: AWSError | None = None  # the error that ended the stream, if one did

    # --- transport-facing -------------------------------------------------------------

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio (per channel) decoded so far."""
        return self._heard_samples / SAMPLE_RATE

    async def audio(self, chunk: bytes) -> list[TranscriptResult]:
        """One AudioEvent's payload (raw audio bytes) in; the results it completed out (partials
        and finals). An empty chunk ends the stream (returns the final results). Raises AWSError."""
        if not chunk:
            return await self.end()
        async with self._lock:
            if self._ended:
                return []
            return self._count(await asyncio.to_thread(self._accept, chunk))

    async def end(self) -> list[TranscriptResult]:
        """End of audio: the final results of what is pending. Idempotent."""
        async with self._lock:
            if self._ended:
                return []
            self._ended = True
            results = self._count(await asyncio.to_thread(self._finish))  # an error: the transport closes
            self.close()
            return results

    def fail(self, error: AWSError) -> None:
        """Record the error that ends the stream (the transport reports it to the client); the
        close line names the first one."""
        self._ended_by = self._ended_by or error

    def close(self) -> None:
        """Free the session id and the decoder; log the session's end. Idempotent; call it in
        `finally`."""
        if self._closed:
            return
        self._closed = True
        self._decoder.close()
        self._owner._release(self)
        self._log_close()

    # --- log lines ---------------------------------------------------------------------

    def log_open(self, region: str) -> None:
        s = self.settings
        language = s.language_code or "identify " + ",".join(s.language_options)
        fields = {
            "operation": self.operation,
            "transport": self.transport,
            "session_id": self.session_id,
            "request_id": self.request_id,
            "region": region,
            "language": s.language_code,
            "language_options": list(s.language_options),
            "sample_rate": s.sample_rate,
            "encoding": s.media_encoding,
            "channels": s.channels,
        }
        session_log.info(
            "stream %s opened: %s over %s, %s, %d Hz %s",
            self.session_id, self.operation, self.transport, language, s.sample_rate, s.media_encoding,
            extra={"fields": fields},
        )

    def _log_close(self) -> None:
        error = self._ended_by
        if error is not None:
            ended = error.code
        elif self._ended:
            ended = "end of stream"
        else:
            ended = "client disconnected"
        audio_seconds = self._heard_samples / SAMPLE_RATE
        wall_seconds = time.monotonic() - self.started
        fields = {
            "operation": self.operation,
            "transport": self.transport,
            "session_id": self.session_id,
            "request_id": self.request_id,
            "audio_seconds": round(audio_seconds, 3),
            "wall_seconds": round(wall_seconds, 3),
            "results": self.results_sent,
            "final_results": self.final_results_sent,
            "ended": ended,
            "error_message": error.message if error is not None else None,
        }
        session_log.log(
            logging.WARNING if error is not None else logging.INFO,
            "stream %s closed (%s over %s): %s after %.1f s of audio, %d results (%d final) in %.1f s",
            self.session_id, self.operation, self.transport, ended, audio_seconds,
            self.results_sent, self.final_results_sent, wall_seconds,
            extra={"fields": fields},
        )

    # --- work in a thread --------------------------------------------------------------

    def _ensure_channels(self) -> list[_Channel]:
        if self._channels is None:
            self._channels = [
                _Channel(StreamingTranscriber(self._owner.recognizer, self._plan.options), f"ch_{i}")
                for i in range(self.settings.channels)
            ]
        return self._channels

    def _accept(self, chunk: bytes) -> list[TranscriptResult]:
        try:
            samples = self._decoder.feed(chunk)
        except AudioDecodeError as error:
            log.info("stream %s: undecodable audio: %s", self.session_id, error)
            raise BadRequestException(
                UNDECODABLE_AUDIO.format(encoding=self.settings.media_encoding, rate=self.settings.sample_rate)
            ) from None
        return self._recognise(samples, final=False)

    def _finish(self) -> list[TranscriptResult]:
        try:
            samples = self._decoder.flush()
        except AudioDecodeError as error:
            if not self._heard_samples:  # nothing of the stream decoded: not audio of that encoding
                log.info("stream %s: undecodable audio: %s", self.session_id, error)
                raise BadRequestException(
                    UNDECODABLE_AUDIO.format(encoding=self.settings.media_encoding, rate=self.settings.sample_rate)
                ) from None
            samples = np.zeros((self.settings.channels, 0), dtype=np.float32)  # a truncated tail
        return self._recognise(samples, final=True)

    def _recognise(self, samples: np.ndarray, final: bool) -> list[TranscriptResult]:
        channels = self._ensure_channels()
        heard = samples
        if self._canceller is not None:
            samples = self._canceller.feed(heard)
            samples = np.concatenate([samples, self._canceller.finish()], axis=1) if final else samples
        self._keep(heard, samples if self._canceller is not None else None)
        if self._heard_samples > MAX_STREAM_SECONDS * SAMPLE_RATE:
            raise LimitExceededException(STREAM_TOO_LONG)
        out: list[TranscriptResult] = []
        for index, channel in enumerate(channels):
            results = channel.transcriber.accept(samples[index]) if samples.shape[1] else []
            if final:
                results = [*results, *channel.transcriber.finish()]
            for result in results:
                rendered = self._render(result, channel)
                if rendered is not None:
                    out.append(rendered)
        return out

    def _keep(self, samples: np.ndarray, cleaned: np.ndarray | None) -> None:
        """Keeps the audio as it came in (and, with the canceller, as it went to recognition:
        the same stream positions, the last 4 ms behind) for the last
        DIARIZATION_WINDOW_SECONDS."""
        for index in range(samples.shape[0]):
            if samples.shape[1]:
                self._heard[index].append(samples[index])
            if cleaned is not None and cleaned.shape[1]:
                self._cleaned[index].append(cleaned[index])
        self._heard_samples += samples.shape[1]
        limit = int(DIARIZATION_WINDOW_SECONDS * SAMPLE_RATE)
        kept = self._heard_samples - self._kept_from
        if kept > 2 * limit:  # trim now and then, not at every chunk
            cut = kept - limit
            for kept_audio in (*self._heard, *self._cleaned):
                kept_audio.drop_first(cut)
            self._kept_from += cut

    def _audio(
        self, channel: int, start: float | None = None, end: float | None = None, cleaned: bool = False
    ) -> tuple[np.ndarray, float]:
        """Kept audio of a channel (or the mix for channel -1) from `start` to `end` seconds
        (None: the kept ends) and its start time in seconds; cleaned: as it went to recognition
        (channel identification only)."""
        kept = self._cleaned if cleaned else self._heard
        offset = self._kept_from / SAMPLE_RATE
        a = 0 if start is None else max(0, int((start - offset) * SAMPLE_RATE))
        b = None if end is None else max(a, int((end - offset) * SAMPLE_RATE))
        rows = [kept_audio.span(a, b) for kept_audio in kept]
        audio = rows[channel] if channel >= 0 else np.mean(rows, axis=0, dtype=np.float32) if len(rows) > 1 else rows[0]
        return audio, offset + a / SAMPLE_RATE

    # --- rendering ---------------------------------------------------------------------

    def _render(self, result: StreamResult, channel: _Channel) -> TranscriptResult | None:
        tokens = self._post.transform(self._without_leak(tokens_from_words(result.words), channel), result.is_partial)
        if not tokens and (result.is_partial or result.result_id not in self._announced):
            return None  # nothing to show (a final still closes a result the client has seen)
        if result.is_partial:
            self._announced.add(result.result_id)
        else:
            self._announced.discard(result.result_id)
        if not result.is_partial and (self.settings.show_speaker_label):
            self._diarize()
        if self.settings.show_speaker_label:
            tokens = label_speakers(tokens, self._turns)
        alternative = ResultAlternative(
            transcript=join_tokens(tokens),
            items=tuple(self._item(t, result.is_partial) for t in tokens),
            entities=self._post.entities(tokens, result.is_partial),
        )
        language_code, scores = None, ()
        if not self.settings.medical and self.settings.language_code is None:
            language_code, scores = self._language(result, channel)
        return TranscriptResult(
            result_id=result.result_id,
            start_time=round(result.start, 3),
            end_time=round(result.end, 3),
            is_partial=result.is_partial,
            alternatives=(alternative,),
            channel_id=channel.label if self.settings.enable_channel_identification else None,
            language_code=language_code,
            language_identification=scores,
        )

    def _without_leak(self, tokens: list[Token], channel: _Channel) -> list[Token]:
        """`tokens` of a channel less the words that are the other talker's leaked voice, as
        batch jobs drop them (segmentation.drop_crosstalk's rules): before the canceller
        cleaned this channel, a word the other channel heard louder (`heard_from_afar`); after,
        a word whose sound the cancellation took away (`cancelled_away`: a reverberant leak
        is only cancelled by about 10 dB). A punctuation mark goes with its word. Unchanged
        without channel identification."""
        if self._canceller is None or not tokens:
            return tokens
        index = int(channel.label.split("_")[1])
        since = self._canceller.cleaned_since(index)
        timed = [t for t in tokens if t.kind == PRONUNCIATION and t.start is not None]
        if not timed:
            return tokens
        # The words' span (and LEAST_SPAN around a short word): not the whole kept audio.
        start, end = min(t.start for t in timed) - 0.1, max(t.end for t in timed) + 0.1
        heard, offset = self._audio(index, start, end)
        other, _ = self._audio(1 - index, start, end)
        cleaned, _ = self._audio(index, start, end, cleaned=True)
        out: list[Token] = []
        dropped = False
        for token in tokens:
            if token.kind != PRONUNCIATION or token.start is None:
                if not dropped:
                    out.append(token)
                continue
            shifted = replace(token, start=token.start - offset, end=token.end - offset)
            if since is None or token.start < since:
                dropped = heard_from_afar(shifted, heard, other, SAMPLE_RATE)
            else:
                dropped = cancelled_away(shifted, heard, cleaned, SAMPLE_RATE)
            if not dropped:
                out.append(token)
        return out

    def _item(self, token: Token, partial: bool) -> ResultItem:
        medical = self.settings.medical
        return ResultItem(
            start_time=round(token.start, 3),
            end_time=round(token.end, 3),
            type=token.kind,
            content=token.content,
            vocabulary_filter_match=None if medical else token.filter_match,
            speaker=token.speaker,
            confidence=round(token.confidence, 4) if not partial and token.kind == "pronunciation" else None,
            stable=(token.stable or not partial)
            if self.settings.enable_partial_results_stabilization and not medical
            else None,
        )

    def _diarize(self) -> None:
        diarizer = self._owner.diarizer
        if diarizer is None:
            return
        audio, offset = self._audio(-1)
        if not len(audio):
            return
        try:
            # Without the segmentation network: this runs over all the audio heard at every final
            # result, and the network would add about 0.5 % of that audio's duration each time. The
            # diarizer keeps earlier windows' embeddings, so only new windows are embedded.
            turns = diarizer.diarize(audio, max_speakers=DIARIZATION_MAX_SPEAKERS, resegment=False)
        except Exception:  # noqa: BLE001 - speaker labels are best effort; the transcript goes on
            log.exception("stream %s: diarization failed", self.session_id)
            return
        self._turns = [(t.speaker, t.start + offset, t.end + offset) for t in turns]

    def _language(self, result: StreamResult, channel: _Channel) -> tuple[str | None, tuple[LanguageScore, ...]]:
        """LanguageCode of a result, and on finals its LanguageIdentification."""
        options = list(self.settings.language_options)
        code = aws_language_code(result.language, options) if result.language else None
        if result.is_partial:
            return code or None, ()
        return code or None, self._language_scores(result, channel, options)

    def _language_scores(self, result: StreamResult, channel: _Channel, options: list[str]) -> tuple[LanguageScore, ...]:
        from emulator.engine.language_id import NoSpeechError, identify_language

        index = int(channel.label.split("_")[1])
        audio, _ = self._audio(index, result.start, result.end)
        candidates = [o.split("-")[0] for o in options]
        try:
            model = self._owner.recognizer.model(self._plan.options.model_name)
            scores = identify_language(model, audio, candidates, max_windows=1, min_speech_seconds=0.3)
        except (NoSpeechError, ValueError):
            return ()
        by_language = {s.language: s.probability for s in scores}
        out = [LanguageScore(option, round(by_language.get(option.split("-")[0], 0.0), 4)) for option in options]
        return tuple(sorted(out, key=lambda s: -s.score))

    def _count(self, results: list[TranscriptResult]) -> list[TranscriptResult]:
        self.results_sent += len(results)
        self.final_results_sent += sum(1 for result in results if not result.is_partial)
        return results


__all__ = [
    "StreamingSessions",
    "StreamSession",
]
