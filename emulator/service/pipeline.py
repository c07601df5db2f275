"""Running one transcription job: media from S3, checks, decoding, recognition, transcript to S3.

Runs on a worker thread. Every failure of the media ends the job FAILED with Amazon
Transcribe's FailureReason wording (botocore `TranscriptionJob.FailureReason` docs and
wordings recorded from AWS; where AWS's text is unknown the README says so); nothing
here raises to the worker.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from emulator.aws.errors import AWSError
from emulator.engine.alternatives import n_best
from emulator.engine.crosstalk import cancel_crosstalk
from emulator.engine.diarization import Diarizer
from emulator.engine.language_id import NoSpeechError, identify_language, identify_language_spans
from emulator.engine.media import SAMPLE_RATE, MediaError, MediaInfo, MediaProblem, decode, decode_channels, probe
from emulator.engine.pii import PiiDetector, PiiModelMissing
from emulator.engine.recognizer import RecognitionOptions, Recognizer, Transcription, shift_segment
from emulator.service import s3_uri
from emulator.service.alternatives import add_channel_segments, add_segments, place_segments
from emulator.service.filtering import display_as, vocabulary_filter
from emulator.service.job_settings import aws_language_code
from emulator.service.jobs import KIND
from emulator.service.output import (
    channel_label,
    channel_tokens,
    format_confidence,
    render_job_results,
    transcription_tokens,
    wrap_transcript,
)
from emulator.service.plan import FIXED, IDENTIFY_MULTIPLE, JobPlan, LanguageResources, MediaRules, plan_of_record
from emulator.service.progress import JobProgress, scaled
from emulator.service.redaction import find_pii, mark_redacted, redact, redact_segments
from emulator.service.segmentation import drop_crosstalk, end_failed_alignments, snap_to_speech, split_at_pauses
from emulator.service.speakers import label_speakers
from emulator.service.state_log import job_changed
from emulator.service.subtitles import cues, render_subtitles
from emulator.service.tokens import Token
from emulator.service.toxicity import add_toxicity
from emulator.service.vocabulary_tables import Vocabulary
from emulator.service.worker import current_lease
from emulator.storage.models import ModelStore
from emulator.storage.s3 import OUTAGE_GRACE, ObjectNotFound, ObjectStore, StorageError, StorageUnavailable, patiently
from emulator.storage.store import LeaseLost, Record, Store, StoreUnavailable, wait_for_room

log = logging.getLogger(__name__)

# MediaFormat values (botocore enum `MediaFormat`) by detected container family.
SUPPORTED_CONTAINERS = {"mp3", "mp4", "wav", "flac", "ogg", "amr", "webm"}
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000  # Hz, botocore `MediaSampleRateHertz`
MIN_DURATION = 0.5  # seconds
# Seconds of padding on each side of the VAD's speech regions that a job's word times are cut
# to, missed speech is looked for in and audio segments end at pauses of. The diarizer pads its
# own regions by 0.25 s (DiarizationOptions.vad_pad); here 0.25 s too made the words' times
# looser: the job's speaker segments, strict DER of the 3-4 / 6-talker meetings 24.9 -> 26.2 /
# 24.7 -> 27.4 % (bench/speaker_segments.py, issue 15).
SPEECH_PAD = 0.2
MAX_CHANNELS = 2  # channel identification handles two channels


class JobFailed(Exception):
    """Ends the job FAILED; the message is the FailureReason."""


# --- FailureReason wording --------------------------------------------------------------

NO_SUCH_OBJECT = (
    "The URI that you provided doesn't point to an S3 object. "
    "Make sure that the object exists and try your request again."
)
CANNOT_ACCESS = (
    "The S3 URI that you provided can't be accessed. "
    "Make sure that you have read permission and try your request again."
)
TOO_LONG = (
    "Invalid file size: file size too large. Maximum audio duration is 4.000000 hours."
    "Check the length of the file and try your request again."
)
TOO_LARGE = (
    "Invalid file size: file size too large. Maximum file size is 2 GB. "
    "Check the size of the file and try your request again."
)
TOO_SHORT = (
    "The input media file length is too small. Minimum audio duration is 0.500000 milliseconds. "
    "Check the length of the file and try your request again."
)
FORMAT_MISMATCH = "The media format provided does not match the detected media format."
SAMPLE_RATE_MISMATCH = "The sample rate provided does not match the detected sample rate"
INVALID_SAMPLE_RATE = "Invalid sample rate for audio file. The sample rate must be between 8,000 and 48,000 Hz."
TOO_MANY_CHANNELS = "Invalid number of channels: number of channels too large"
# Recorded from AWS (a FailureReason pasted in public code); AWS's text has no final period.
NO_SPEECH_FOR_LANGUAGE_ID = (
    "Your audio file must have a speech segment long enough in duration to perform automatic "
    "language identification. Provide an audio file with someone speaking for a longer period "
    "of time and try your request again"
)
NO_OUTPUT_BUCKET = (
    "The specified S3 bucket can't be accessed: {bucket}. "
    "Make sure the bucket exists and that you have write permission, and try your request again."
)
# The emulator's own wording (AWS's storage never fails this way): names the cause and what to do.
S3_UNAVAILABLE = (
    "Internal failure: {cause}; still failing after {grace:.0f} seconds of retries. "
    "Check that the emulator's S3 server runs, then start the job again."
)
CANNOT_WRITE = "Internal failure: the transcript couldn't be written to S3 ({cause}). Start the job again."
NO_LOCAL_SPACE = (
    "Internal failure: the emulator's disk has no space for the media ({cause}). "
    "Free disk space in the data directory, then start the job again."
)
_UNREADABLE = {
    MediaProblem.EMPTY: "the file is empty",
    MediaProblem.NO_AUDIO: "it has no audio stream",
    MediaProblem.UNREADABLE: "it is corrupt or not a media file",
}


def unsupported_format(why: str) -> str:
    return f"Unsupported media format: {why}. Check the media file and try your request again."


# --- the pipeline -----------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_seconds: float


def media_format(info: MediaInfo, key: str) -> str:
    """The MediaFormat AWS reports for a detected container ("m4a" for .m4a keys of mp4 files)."""
    if info.container == "mp4" and key.lower().endswith(".m4a"):
        return "m4a"
    return info.container


def check_media(info: MediaInfo, key: str, declared: MediaRules, limits: Limits):
    """Raises JobFailed with AWS's FailureReason for media AWS would not transcribe
    (declared: what the request said of the media)."""
    declared_format, declared_rate = declared.format, declared.sample_rate
    if info.container not in SUPPORTED_CONTAINERS:
        raise JobFailed(unsupported_format(f"{info.container} files aren't supported"))
    detected = media_format(info, key)
    if declared_format and declared_format != detected and {declared_format, detected} != {"mp4", "m4a"}:
        raise JobFailed(FORMAT_MISMATCH)
    if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
        raise JobFailed(INVALID_SAMPLE_RATE)
    if declared_rate and declared_rate != info.sample_rate:
        raise JobFailed(SAMPLE_RATE_MISMATCH)
    if info.duration > limits.max_seconds:
        raise JobFailed(TOO_LONG)


@dataclass
class Outcome:
    """What a finished job adds to its record."""

    doc: dict = field(default_factory=dict)
    internal: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    """A job's decoded media: channels (channels, n) only for channel identification;
    mono float32 16 kHz always."""

    info: MediaInfo
    key: str
    output: dict
    channels: np.ndarray | None
    mono: np.ndarray


@dataclass(frozen=True)
class Recognition:
    """The runtime view of one language of a plan: its resources read from the store when the
    job runs (once per language and run), as the recognizer and post-processing use them."""

    model_name: str  # emulator.storage.models name of the Whisper model
    options: RecognitionOptions  # with the vocabulary's hotwords and the language model's prompt
    vocabulary: Vocabulary | None  # for DisplayAs


@dataclass
class JobRun:
    """One run of a job on a worker: its plan, the resources it has read, and what its last
    log line reports."""

    plan: JobPlan
    started: float  # time.monotonic() when the worker took the job
    audio_seconds: float | None = None  # once the media is decoded
    recognition: dict[str, Recognition] = field(default_factory=dict)  # by language code
    filter_words: dict[str, list[str]] = field(default_factory=dict)  # by language code
    # Vocabularies given with the request rather than by name (TranscribeAudio), by language code.
    inline_vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    # The mono audio's VAD regions (seconds), computed when first asked for (final_tokens).
    speech: Callable[[], list[tuple[float, float]]] | None = None


@dataclass(frozen=True)
class IdentifiedLanguage:
    """The language to recognise in (the dominant one for several), what the job object and
    the results show of the identification, and for several languages where each is spoken."""

    code: str
    job_members: dict
    results_members: dict
    spans: tuple[tuple[str, float, float], ...] = ()


class TranscriptionPipeline:
    """Callable for the worker pool: `pipeline((region, job_name))`.

    vocabularies / vocabulary_filters: the resource services that resolve the names a job
    uses (`terms_for_job`, `words_for_job`); None leaves those settings unresolvable.
    progress: the registry that shows how far each running job has got (shared with the
    job services, which register jobs at Start).
    Each run executes the job's plan (emulator.service.plan), stored with the job at Start.
    The `_check_media` and `_results` steps are where a variant of the job
    (emulator.service.medical_pipeline) differs.
    """

    kind = KIND  # the Store kind of the job records this pipeline runs
    status_member = "TranscriptionJobStatus"  # the job doc's status member (botocore job shape)

    def __init__(
        self,
        store: Store,
        objects: ObjectStore,
        recognizer: Recognizer,
        models: ModelStore,
        scratch_dir: Path,
        limits: Limits,
        beam_size: int,
        clock: Callable[[], float],
        vocabularies=None,
        vocabulary_filters=None,
        pii_detector: PiiDetector | None = None,
        language_models=None,
        diarizer: Diarizer | None = None,
        progress: JobProgress | None = None,
    ):
        self.progress = progress or JobProgress()
        self.language_models = language_models
        self.diarizer = diarizer or Diarizer(
            weights=models.speaker_embedding(), segmentation=models.speaker_segmentation()
        )
        self.pii_detector = pii_detector or PiiDetector()
        self.store = store
        self.objects = objects
        self.recognizer = recognizer
        self.models = models
        self.scratch_dir = scratch_dir
        self.limits = limits
        self.beam_size = beam_size
        self.clock = clock
        self.vocabularies = vocabularies
        self.vocabulary_filters = vocabulary_filters

    def __call__(self, key: tuple[str, str]) -> None:
        region, name = key
        job_key = (self.kind, region, name)
        started = time.monotonic()
        was_queued = False

        def start(record: Record) -> None:
            nonlocal was_queued
            if record.status == "QUEUED":
                was_queued = True
                record.status = record.doc[self.status_member] = "IN_PROGRESS"
                record.doc["StartTime"] = self.clock()

        record = wait_for_room(lambda: self.store.modify(self.kind, region, name, start), f"job {name}")
        if record is None or record.status != "IN_PROGRESS":
            self.progress.finish(job_key)
            return  # deleted, or finished, while it waited
        if was_queued:
            job_changed(self.kind, region, name, "QUEUED", "IN_PROGRESS")
        self.progress.running(job_key)
        run = JobRun(plan_of_record(record.name, record.doc, record.internal), started)
        work_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self._scratch()))
        try:
            outcome = self._run(record, work_dir, run)
            if outcome:
                self._finish(record, "COMPLETED", outcome, run)
        except JobFailed as failure:
            self._finish(record, "FAILED", Outcome({"FailureReason": str(failure)}), run)
        except Exception as e:  # a bug must not leave the job running forever
            if isinstance(e, StoreUnavailable) and current_lease() is not None:
                # A worker process that lost the database mid-job gives the job back: its lease
                # lapses and a worker claims it again once the database answers (docs/SCALING.md).
                log.warning("job %s is given back: %s", name, e.message)
                return
            log.exception("job %s failed unexpectedly", name)
            reason = f"Internal failure: {type(e).__name__}: {e}"
            self._finish(record, "FAILED", Outcome({"FailureReason": reason}), run)
        finally:
            self.progress.finish(job_key)
            shutil.rmtree(work_dir, ignore_errors=True)

    def clear_scratch(self) -> None:
        """Removes work files a killed process left behind; call before the workers start."""
        shutil.rmtree(self.scratch_dir, ignore_errors=True)

    def _scratch(self) -> Path:
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return self.scratch_dir

    # --- the steps --------------------------------------------------------------------

    def _run(self, record: Record, work_dir: Path, run: JobRun) -> Outcome | None:
        plan = run.plan
        media = self._load_media(record, plan, work_dir)
        run.audio_seconds = len(media.mono) / SAMPLE_RATE
        job_key = (self.kind, record.region, record.name)
        language, tokens, pieces = self.final_tokens(record.region, job_key, run, media)
        results = self._results(run, language, media, tokens)
        if plan.max_alternatives:
            results = self._alternatives(run, language, pieces, results, run.speech())

        if self.store.get(self.kind, record.region, record.name) is None:
            return None  # deleted while it ran: write nothing
        outcome = Outcome(
            doc={
                "MediaFormat": plan.media.format or media_format(media.info, media.key),
                "MediaSampleRateHertz": plan.media.sample_rate or media.info.sample_rate,
            },
        )
        outcome.doc.update(language.job_members)
        redacted = self._redacted(run, language, media, tokens, results) if plan.redaction else None
        results = self._write_transcripts(record.name, plan, results, redacted, media.output, outcome)
        if plan.subtitles:
            outcome.internal["Subtitles"] = self._write_subtitles(results, media.output, plan)
        return outcome

    def final_tokens(
        self, region: str, progress_key, run: JobRun, media: "Media"
    ) -> tuple["IdentifiedLanguage", list[Token], list[tuple[np.ndarray, Transcription]] | None]:
        """Decoded media to final tokens, as the run's plan says: the language (given or
        identified), recognition, then post-processing (DisplayAs, vocabulary filter, speaker
        labels); also the pieces behind the tokens (`_recognize`: alternatives need them).
        Shared by jobs and TranscribeAudio (emulator.service.transcribe_audio). JobFailed when
        a resource is unusable or no speech is found for language identification.
        progress_key: the JobProgress entry to update (unknown keys are ignored)."""
        language = self._language(run.plan, media.mono)
        # One VAD pass of the mono audio (0.6 s on a 269 s file), run only if some stretch without
        # words is long enough to ask about: recognition checks it for speech Whisper missed
        # (mono jobs), and audio segments end at pauses, as AWS's do (silence by the VAD).
        speech = run.speech = self._speech_of(media.mono)
        tokens, pieces = self._recognize(region, progress_key, run, media, language, speech)
        # A "word" timed over the words after it is a lost alignment: it ends where they start.
        tokens = end_failed_alignments(tokens)
        tokens = split_at_pauses(tokens, speech=lambda start, end: speech())
        # Word times cut to speech (Whisper's run on into the silence around words), here only:
        # speaker labelling keeps them, so plain and ShowSpeakerLabels jobs have the same times.
        tokens = snap_to_speech(tokens, speech())
        return language, self._post_process(region, run, language, media, tokens), pieces

    def _redacted(self, run: JobRun, language, media: "Media", tokens: list[Token], results: dict) -> dict:
        """The redacted `results` (ContentRedaction): the tokens' PII words as `[PII]`, rendered
        as the results were; each alternative of `segments` redacted on its own."""
        redaction = run.plan.redaction
        types = list(redaction.entity_types) if redaction.entity_types is not None else None
        try:
            redacted = self._results(run, language, media, redact(find_pii(tokens, self.pii_detector, types)))
            if "segments" in results:
                redacted = place_segments(redacted, redact_segments(results["segments"], self.pii_detector, types))
        except PiiModelMissing as e:
            raise JobFailed(f"Internal failure: {e}") from None
        return redacted

    def _write_transcripts(
        self, name: str, plan: JobPlan, results: dict, redacted: dict | None, output: dict, outcome: Outcome
    ) -> dict:
        """Writes the transcript file(s); returns the results the subtitles show (redacted when
        redaction is on). ContentRedaction: `redacted` writes only `redacted-<name>.json`,
        `redacted_and_unredacted` both (digest §3.2)."""
        account = plan.output.account_id
        redaction = plan.redaction
        if not redaction:
            self._put_json(output, wrap_transcript(name, account, results))
            outcome.internal["Transcript"] = output
            return results
        location = {**output, "key": redacted_key(output["key"])}
        self._put_json(location, mark_redacted(wrap_transcript(name, account, redacted), True))
        outcome.internal["RedactedTranscript"] = location
        if redaction.output == "redacted_and_unredacted":
            self._put_json(output, mark_redacted(wrap_transcript(name, account, results), False))
            outcome.internal["Transcript"] = output
        return redacted

    def _put_json(self, location: dict, document: dict) -> None:
        self._put(location, json.dumps(document).encode(), "application/json")

    def _put(self, location: dict, data: bytes, content_type: str) -> None:
        """Writes an output object, waiting out a short S3 outage (OUTAGE_GRACE). JobFailed."""
        try:
            patiently(
                lambda: self.objects.put_bytes(location["bucket"], location["key"], data, content_type),
                what=f"writing s3://{location['bucket']}/{location['key']}",
            )
        except StorageUnavailable as e:
            raise JobFailed(S3_UNAVAILABLE.format(cause=e, grace=OUTAGE_GRACE)) from None
        except StorageError as e:
            raise JobFailed(CANNOT_WRITE.format(cause=e)) from None

    def _load_media(self, record: Record, plan: JobPlan, work_dir: Path) -> "Media":
        """Fetches, checks and decodes the job's media (FAILED reasons as AWS words them)."""
        bucket, key = s3_uri.parse_s3_uri(plan.media.uri, (self.objects.endpoint,))
        output = self._output_location(record, plan)
        media_path = work_dir / "media"
        self._fetch(bucket, key, media_path)
        try:
            info = probe(media_path)
        except MediaError as e:
            raise JobFailed(unsupported_format(_UNREADABLE[e.problem])) from e
        self._check_media(info, key, plan.media)
        per_channel = plan.media.channel_identification
        if per_channel and info.channels > MAX_CHANNELS:
            raise JobFailed(TOO_MANY_CHANNELS)
        channels = self._decode(media_path, per_channel)
        mono = channels.mean(axis=0) if channels.shape[0] > 1 else channels[0]
        return Media(info, key, output, channels if per_channel else None, mono)

    def _check_media(self, info: MediaInfo, key: str, declared: MediaRules) -> None:
        check_media(info, key, declared, self.limits)

    def _recognition(self, region: str, run: JobRun, language_code: str) -> Recognition:
        """The runtime view of one language: its vocabulary's hotwords, its custom language
        model's prompt (emulator.service.language_models explains the approximation); read from
        the store on first use in a run, then kept. JobFailed when a resource is unusable."""
        if language_code not in run.recognition:
            resources = run.plan.resources_for(language_code)
            vocabulary = run.inline_vocabularies.get(language_code)
            vocabulary = vocabulary or self._vocabulary(region, resources, language_code)
            options = RecognitionOptions(
                language=language_code.split("-")[0],
                beam_size=self.beam_size,
                hotwords=vocabulary_hotwords(vocabulary) if vocabulary else None,
                initial_prompt=self._language_model_prompt(region, resources, language_code),
            )
            model_name = self.models.model_for_language(options.language)
            run.recognition[language_code] = Recognition(model_name, options, vocabulary)
        return run.recognition[language_code]

    def _language_model_prompt(self, region: str, resources: LanguageResources, language_code: str) -> str | None:
        name = resources.language_model_name
        if not name or self.language_models is None:
            return None
        try:
            return self.language_models.prompt_for_job(region, name, language_code) or None
        except AWSError as e:
            raise JobFailed(e.message) from None

    def _transcribe(
        self, samples: np.ndarray, region: str, run: JobRun, language_code: str, progress=None, speech=None
    ) -> Transcription:
        """Recognition of `samples` in `language_code`; speech: their VAD regions, computed
        here (when asked for) unless given."""
        recognition = self._recognition(region, run, language_code)
        return self.recognizer.transcribe(
            samples,
            recognition.model_name,
            recognition.options,
            progress=progress,
            speech=speech or self._speech_of(samples),
        )

    def _speech_of(self, samples: np.ndarray) -> Callable[[], list[tuple[float, float]]]:
        """The VAD's speech regions of `samples` (seconds, padded by SPEECH_PAD), computed on
        the first call and kept."""
        return functools.cache(lambda: self.diarizer.speech_regions(samples, pad=SPEECH_PAD))

    def _recognize(
        self, region: str, key, run: JobRun, media: "Media", language: "IdentifiedLanguage", speech=None
    ) -> tuple[list[Token], list[tuple[np.ndarray, Transcription]] | None]:
        """The tokens of recognition, and the pieces behind them, (samples, transcription) of
        the mono audio or of each channel (alternatives need them); None for several languages.

        Progress: the fraction of the job's audio transcribed; a job of several passes (one
        per channel, one per language span) gives each pass its share of the whole (under `key`)."""

        def report(fraction: float) -> None:
            self.progress.update(key, fraction)

        if media.channels is not None:
            count = len(media.channels)
            # Two talkers in one room reach both microphones: each channel is recognised less
            # the other talker's leaked voice where a linear filter explains it.
            cancellation = cancel_crosstalk(media.channels, SAMPLE_RATE)
            channels = [
                self._transcribe(channel, region, run, language.code, scaled(report, i / count, (i + 1) / count))
                for i, channel in enumerate(cancellation.channels)
            ]
            labels = tuple(channel_label(i) for i in range(count))
            tokens = drop_crosstalk(
                channel_tokens(channels),
                media.channels,
                SAMPLE_RATE,
                labels,
                cleaned=cancellation.channels,
                applied=cancellation.applied,
            )
            return tokens, list(zip(cancellation.channels, channels))
        if language.spans:
            segments = []
            total = sum(end - start for _, start, end in language.spans) or 1.0
            done = 0.0
            for code, start, end in language.spans:
                piece = media.mono[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
                share = scaled(report, done / total, (done + end - start) / total)
                transcription = self._transcribe(piece, region, run, code, share)
                segments.extend(shift_segment(s, start) for s in transcription.segments)
                done += end - start
            duration = len(media.mono) / SAMPLE_RATE
            return transcription_tokens(Transcription(language.code.split("-")[0], 1.0, duration, tuple(segments))), None
        transcription = self._transcribe(media.mono, region, run, language.code, report, speech)
        return transcription_tokens(transcription), [(media.mono, transcription)]

    def _alternatives(
        self, run: JobRun, language, pieces: list[tuple[np.ndarray, Transcription]], results: dict, speech: list
    ) -> dict:
        """`segments` with real n-best hypotheses of each segment (ShowAlternatives); with
        channel identification, of each channel's segments (AWS allows the two together).
        speech: the mono audio's VAD regions, which the items' word times were cut to (the
        hypotheses' are too)."""
        recognition = run.recognition[language.code]  # read when the audio was recognised
        options = recognition.options
        model = self.recognizer.model(recognition.model_name)
        alternatives = [
            n_best(
                model,
                samples,
                transcription.segments,
                options.language,
                run.plan.max_alternatives,
                options.beam_size,
                hotwords=options.hotwords,
                initial_prompt=options.initial_prompt,
            )
            for samples, transcription in pieces
        ]
        if run.plan.media.channel_identification:
            return add_channel_segments(results, alternatives, speech)
        return add_segments(results, alternatives[0], speech)

    def _post_process(
        self, region: str, run: JobRun, language: "IdentifiedLanguage", media: "Media", tokens: list[Token]
    ) -> list[Token]:
        """DisplayAs, vocabulary filter, speaker labels — in that order, so every section
        rendered from the tokens shows the final words."""
        plan = run.plan
        resources = plan.resources_for(language.code)
        vocabulary = self._recognition(region, run, language.code).vocabulary
        if vocabulary:
            tokens = display_as(tokens, vocabulary)
        if resources.filter_method:  # set with every filter, named or given inline (run.filter_words)
            words = self._filter_words(region, run, resources.filter_name, language.code)
            tokens = vocabulary_filter(tokens, words, resources.filter_method)
        if plan.max_speaker_labels:
            turns = self.diarizer.diarize(media.mono, max_speakers=plan.max_speaker_labels)
            tokens = label_speakers(tokens, turns)
        return tokens

    def _results(self, run: JobRun, language: "IdentifiedLanguage", media: "Media", tokens: list[Token]) -> dict:
        """The job's `results` from its final tokens: the language members, then the
        transcript sections (with channel and speaker sections where the plan asks), then
        `toxicity_detection` (ToxicityDetection)."""
        channels = media.channels.shape[0] if media.channels is not None else None
        results = render_job_results(tokens, channels, speakers=bool(run.plan.max_speaker_labels))
        results = {**language.results_members, **results}
        return add_toxicity(results) if run.plan.toxicity else results

    def _decode(self, media_path: Path, per_channel: bool) -> np.ndarray:
        """Samples as (channels, n) float32 16 kHz; one row unless `per_channel`."""
        try:
            if per_channel:
                channels = decode_channels(media_path, max_seconds=self.limits.max_seconds)
            else:
                channels = decode(media_path, max_seconds=self.limits.max_seconds)[np.newaxis, :]
        except MediaError as e:
            raise JobFailed(unsupported_format(_UNREADABLE[e.problem])) from e
        if channels.shape[1] > self.limits.max_seconds * SAMPLE_RATE:
            raise JobFailed(TOO_LONG)  # the header did not say how long it is
        if channels.shape[1] < MIN_DURATION * SAMPLE_RATE:
            raise JobFailed(TOO_SHORT)
        return channels

    def _language(self, plan: JobPlan, samples: np.ndarray) -> "IdentifiedLanguage":
        """The job's language: given, identified (IdentifyLanguage) or identified per stretch
        of speech (IdentifyMultipleLanguages), with what the job and `results` show of it
        (digest §3.3, §4.5)."""
        choice = plan.language
        if choice.mode == FIXED:
            return IdentifiedLanguage(choice.code, {}, {})
        options = list(choice.options) if choice.options else None
        candidates = sorted({code.split("-")[0] for code in options}) if options else None
        model = self.recognizer.model(self.models.model_for_language("*"))
        try:
            if choice.mode == IDENTIFY_MULTIPLE:
                return self._language_spans(model, samples, candidates, options)
            scores = identify_language(model, samples, candidates)
        except NoSpeechError:
            raise JobFailed(NO_SPEECH_FOR_LANGUAGE_ID) from None
        ranked = [(aws_language_code(s.language, options), s.probability) for s in scores]
        ranked = [(code, p) for code, p in ranked if code][:5]
        if not ranked:
            raise JobFailed(NO_SPEECH_FOR_LANGUAGE_ID)
        code, score = ranked[0]
        return IdentifiedLanguage(
            code,
            job_members={"LanguageCode": code, "IdentifiedLanguageScore": round(score, 4)},
            results_members={
                "language_code": code,
                "language_identification": [{"score": format_confidence(p, 4), "code": c} for c, p in ranked],
            },
        )

    @staticmethod
    def _language_spans(model, samples: np.ndarray, candidates, options) -> "IdentifiedLanguage":
        spans = [
            (aws_language_code(span.language, options), span.start, span.end)
            for span in identify_language_spans(model, samples, candidates)
        ]
        spans = [span for span in spans if span[0]]
        if not spans:
            raise JobFailed(NO_SPEECH_FOR_LANGUAGE_ID)
        durations: dict[str, float] = {}
        for code, start, end in spans:
            durations[code] = durations.get(code, 0.0) + end - start
        dominant = max(durations, key=durations.get)
        # AWS shows IdentifiedLanguageScore on multi-language jobs too (issue 13 §4): the
        # probability of the dominant language over the whole media, as IdentifyLanguage scores it.
        scores = identify_language(model, samples, candidates)
        score = sum(s.probability for s in scores if aws_language_code(s.language, options) == dominant)
        return IdentifiedLanguage(
            dominant,
            job_members={
                "IdentifiedLanguageScore": round(score, 4),
                "LanguageCodes": [
                    {"LanguageCode": code, "DurationInSeconds": round(seconds, 2)} for code, seconds in durations.items()
                ],
            },
            results_members={
                "language_codes": [
                    {"language_code": code, "duration_in_seconds": round(seconds, 2)}
                    for code, seconds in durations.items()
                ]
            },
            spans=tuple(spans),
        )

    def _vocabulary(self, region: str, resources: LanguageResources, language_code: str) -> Vocabulary | None:
        name = resources.vocabulary_name
        if not name or self.vocabularies is None:
            return None
        try:
            return self.vocabularies.terms_for_job(region, name, language_code)
        except AWSError as e:
            raise JobFailed(e.message) from None

    def _filter_words(self, region: str, run: JobRun, name: str, language_code: str) -> list[str]:
        """The words of the language's filter, read once per run (JobFailed when unusable);
        words given inline (TranscribeAudio) are in run.filter_words from the start."""
        if language_code in run.filter_words:
            return run.filter_words[language_code]
        if self.vocabulary_filters is None:
            raise JobFailed(f"The vocabulary filter {name} couldn't be used.")
        if language_code not in run.filter_words:
            try:
                run.filter_words[language_code] = self.vocabulary_filters.words_for_job(region, name, language_code)
            except AWSError as e:
                raise JobFailed(e.message) from None
        return run.filter_words[language_code]

    def _write_subtitles(self, results: dict, output: dict, plan: JobPlan) -> list[dict]:
        """Subtitle files beside the transcript (same name, .srt/.vtt); none without speech,
        as AWS documents. Returns their locations."""
        if not cues(results):
            return []
        locations = []
        base = output["key"].removesuffix(".json")
        for subtitle_format in plan.subtitles.formats:
            location = {**output, "key": f"{base}.{subtitle_format}"}
            text = render_subtitles(results, subtitle_format, plan.subtitles.start_index)
            content_type = "text/vtt" if subtitle_format == "vtt" else "application/x-subrip"
            self._put(location, text.encode(), content_type)
            locations.append(location)
        return locations

    def _fetch(self, bucket: str, key: str, path: Path) -> None:
        """Downloads the media, waiting out a short S3 outage (OUTAGE_GRACE). JobFailed."""
        try:
            size = self._patient_s3(lambda: self.objects.stat(bucket, key).size, f"reading s3://{bucket}/{key}")
            if size > self.limits.max_bytes:
                raise JobFailed(TOO_LARGE)
            self._patient_s3(lambda: self.objects.download(bucket, key, path), f"reading s3://{bucket}/{key}")
        except ObjectNotFound:
            raise JobFailed(NO_SUCH_OBJECT) from None
        except OSError as e:  # the local copy: no space left in the scratch dir
            raise JobFailed(NO_LOCAL_SPACE.format(cause=e.strerror or e)) from None
        except StorageError:
            raise JobFailed(CANNOT_ACCESS) from None

    @staticmethod
    def _patient_s3(call, what: str):
        """`call` retried through a short S3 outage; JobFailed with S3_UNAVAILABLE after it."""
        try:
            return patiently(call, what=what)
        except StorageUnavailable as e:
            raise JobFailed(S3_UNAVAILABLE.format(cause=e, grace=OUTAGE_GRACE)) from None

    def _output_location(self, record: Record, plan: JobPlan) -> dict:
        """Checked before transcribing, so a bad bucket fails fast."""
        bucket = plan.output.bucket
        try:
            if bucket:
                if not self._patient_s3(lambda: self.objects.bucket_exists(bucket), f"checking bucket {bucket}"):
                    raise JobFailed(NO_OUTPUT_BUCKET.format(bucket=bucket))
                return {"type": "CUSTOMER_BUCKET", "bucket": bucket, "key": plan.output.key}
            bucket = s3_uri.service_bucket(record.region)
            self._patient_s3(lambda: self.objects.ensure_bucket(bucket), f"creating bucket {bucket}")
        except StorageError:
            raise JobFailed(NO_OUTPUT_BUCKET.format(bucket=bucket)) from None
        key = f"{plan.output.account_id}/{record.name}/{uuid.uuid4()}/asrOutput.json"
        return {"type": "SERVICE_BUCKET", "bucket": bucket, "key": key}

    def _finish(self, record: Record, status: str, outcome: Outcome, run: JobRun) -> None:
        def finish(current: Record) -> None:
            current.status = current.doc[self.status_member] = status
            current.doc.update(outcome.doc)
            current.internal.update(outcome.internal)
            if status == "COMPLETED":
                # As recorded from AWS (test_transcribe_error_invalid_length): FAILED jobs have no CompletionTime.
                current.doc["CompletionTime"] = self.clock()

        lease = current_lease()  # a claim worker's token: the state moves only while the claim holds
        try:
            if wait_for_room(
                lambda: self.store.modify(self.kind, record.region, record.name, finish, lease_owner=lease),
                f"job {record.name}",
            ) is None:
                return  # deleted meanwhile: its deletion was the last change
        except LeaseLost as e:  # another worker took the job over: its run is the one that counts
            log.warning("job %s ran to its end after losing its claim; its outcome is not written: %s", record.name, e)
            self._discard_own_output(outcome)
            return
        job_changed(
            self.kind,
            record.region,
            record.name,
            "IN_PROGRESS",
            status,
            audio_seconds=run.audio_seconds,
            wall_seconds=time.monotonic() - run.started,
            failure_reason=outcome.doc.get("FailureReason"),
        )


    def _discard_own_output(self, outcome: Outcome) -> None:
        """Deletes what only this run wrote: its service-bucket files, whose keys hold a uuid of
        their own. A customer-bucket key is the job's, shared with the run that kept the claim,
        so those objects stay (the winner's file is there)."""
        for value in outcome.internal.values():
            for location in value if isinstance(value, list) else [value]:
                if isinstance(location, dict) and location.get("type") == "SERVICE_BUCKET":
                    try:
                        self.objects.delete(location["bucket"], location["key"])
                    except (ObjectNotFound, StorageError) as e:  # an orphan file is harmless
                        log.warning("could not delete %s/%s: %s", location["bucket"], location["key"], e)


def redacted_key(key: str) -> str:
    """`dir/job.json` -> `dir/redacted-job.json`, where AWS writes a redacted transcript."""
    folder, _, base = key.rpartition("/")
    return f"{folder}/redacted-{base}" if folder else f"redacted-{base}"


def vocabulary_hotwords(vocabulary) -> str:
    """The phrases a vocabulary biases recognition toward, as Whisper hotwords."""
    return ", ".join(entry.phrase for entry in vocabulary.entries)
