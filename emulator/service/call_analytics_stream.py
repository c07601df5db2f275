"""Real-time Call Analytics sessions (StartCallAnalyticsStreamTranscription): Transcribe
semantics, independent of the transport.

A session wraps a two-channel transcription session (emulator.service.streaming, one
recogniser per channel, the same vocabulary / filter / language model / PII settings) and
turns its results into what AWS's developer guide ("Real-time Call Analytics output",
docs.aws.amazon.com/transcribe/latest/dg/tca-output-streaming.html) and the Smithy shapes of
the JS SDK's client-transcribe-streaming show:

* `Utterance` (`UtteranceEvent`): one per partial or final result of a channel, its
  ParticipantRole from the ConfigurationEvent's ChannelDefinitions (channel 0 is the AGENT
  without them, as in batch Call Analytics); final utterances carry Sentiment
  (emulator.engine.sentiment) and IssuesDetected with CharacterOffsets into the Transcript
  (emulator.engine.call_insights), both computed on the final text (the redacted one with
  PII redaction), as the batch post-call output does;
* `CategoryMatch` (`CategoryEvent`): the REAL_TIME categories (created with the batch API
  before the stream started, AWS: "categories cannot be applied retroactively") evaluated by
  emulator.service.call_analytics_rules on the conversation so far, at each final utterance;
  a category is reported once, when it first matches. Rules that only the whole call can
  decide (Negate, NonTalkTimeFilter, RelativeTimeRange, AbsoluteTimeRange.Last) are evaluated
  when the stream ends. MatchedDetails is keyed by the target phrase heard, with its
  TimestampRanges, as AWS's example shows ("network issues": {TimestampRanges: [...]}).

The protocol (the transports call it as they call StreamSession):

    sessions = CallAnalyticsStreamSessions(streaming_sessions, categories, analytics_jobs)
    session = sessions.open(ctx, parameters, medical=False, transport="http2")   # AWSError
    session.input_event(event_type, payload)   # by the reader, for each input event, in order:
                                               # the ConfigurationEvent must come first
    results = await session.audio(chunk)       # [Utterance | CategoryMatch]
    results = await session.end()
    session.fail(error); session.close()

PostCallAnalyticsSettings (docs "Post-call analytics with real-time transcriptions",
tca-post-call.html): the stream's audio is kept (a temporary file) and, when the stream ends,
written as a stereo WAV to the bucket of OutputLocation (`<folder>/<session id>.wav`); then a
Call Analytics job named after the session id analyses it on the job workers
(emulator.service.call_analytics_pipeline), writing the post-call JSON where OutputLocation
says (`<folder>/<session id>.json`; `redacted-<session id>.json` with redaction). The job is
visible with GetCallAnalyticsJob (README "Differences from AWS").
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import re
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.aws.errors import AWSError, BadRequestException, ValidationException
from emulator.aws.model import shape
from emulator.engine.call_insights import ISSUE, insights
from emulator.engine.conversation import interruptions, non_talk, speech_runs
from emulator.engine.media import SAMPLE_RATE, decode_channels
from emulator.engine.sentiment import Sentiment, sentiment
from emulator.service.call_analytics import output_location
from emulator.service.call_analytics_output import AGENT, CUSTOMER, ROLES, CallAnalysis, Turn
from emulator.service.call_analytics_rules import matched_categories
from emulator.service.context import RequestContext
from emulator.service.stream_results import LanguageScore, ResultEntity, ResultItem, TranscriptResult
from emulator.service.streaming import StreamingSessions, StreamSession
from emulator.service.streaming_settings import StreamSettings
from emulator.service.tokens import Token

log = logging.getLogger(__name__)

OPERATION = "StartCallAnalyticsStreamTranscription"
# The operation's start parameters (StartCallAnalyticsStreamTranscriptionRequest's
# x-amzn-transcribe-* headers, short names); others are not part of the operation and ignored.
PARAMETERS = frozenset({
    "sample-rate", "media-encoding", "language-code", "vocabulary-name", "session-id",
    "vocabulary-filter-name", "vocabulary-filter-method", "language-model-name", "identify-language",
    "language-options", "preferred-language", "vocabulary-names", "vocabulary-filter-names",
    "enable-partial-results-stabilization", "partial-results-stability", "content-identification-type",
    "content-redaction-type", "pii-entity-types",
})
_TWO_CHANNELS = {"enable-channel-identification": "true", "number-of-channels": "2"}
# CallAnalyticsLanguageCode of the streaming model.
LANGUAGE_CODES = ("de-DE", "en-AU", "en-GB", "en-US", "es-US", "fr-CA", "fr-FR", "it-IT", "pt-BR")
CONTENT_REDACTION_OUTPUTS = ("redacted", "redacted_and_unredacted")  # ContentRedactionOutput

# Emulator wording (AWS does not publish these).
CONFIGURATION_FIRST = (
    "A Call Analytics stream must start with a ConfigurationEvent. Send the ConfigurationEvent "
    "(ChannelDefinitions, PostCallAnalyticsSettings) before the first AudioEvent."
)
CONFIGURATION_TWICE = "A Call Analytics stream takes one ConfigurationEvent; this stream already has one."
BAD_CONFIGURATION = "The ConfigurationEvent couldn't be read: {}. Send it as a JSON object."
BAD_CHANNELS = (
    "ChannelDefinitions must define channel 0 and channel 1 with different participant roles "
    "(AGENT and CUSTOMER). Correct them and try your request again."
)
REDACTION_OUTPUT_ALONE = (
    "ContentRedactionOutput requires ContentRedactionType. Turn on content redaction or remove "
    "ContentRedactionOutput, then try your request again."
)
BAD_OUTPUT_LOCATION = (
    "The OutputLocation {uri} isn't an S3 location. Use s3://bucket, s3://bucket/folder/ or "
    "s3://bucket/folder/file.json and try your request again."
)
_MISSING = "Member must not be null"


@dataclass(frozen=True)
class PostCallSettings:
    """PostCallAnalyticsSettings of the ConfigurationEvent."""

    output_location: str  # OutputLocation: s3://bucket[/folder/][file.json]
    data_access_role_arn: str  # DataAccessRoleArn
    content_redaction_output: str | None = None  # ContentRedactionOutput
    output_encryption_kms_key_id: str | None = None  # OutputEncryptionKMSKeyId (recorded on the job)


@dataclass(frozen=True)
class CallConfiguration:
    """The ConfigurationEvent: roles[i] is the ParticipantRole of channel i."""

    roles: tuple[str, str] = (AGENT, CUSTOMER)
    post_call: PostCallSettings | None = None


@dataclass(frozen=True)
class Utterance:
    """UtteranceEvent: one channel's utterance, partial (repeated under its id) or final. Times
    in seconds here (the wire gives milliseconds); None members are absent on the wire."""

    utterance_id: str  # UtteranceId
    is_partial: bool  # IsPartial
    participant_role: str  # ParticipantRole: AGENT | CUSTOMER
    begin: float  # BeginOffsetMillis / 1000
    end: float  # EndOffsetMillis / 1000
    transcript: str  # Transcript
    items: tuple[ResultItem, ...]  # Items (CallAnalyticsItem: times, Confidence, VocabularyFilterMatch, Stable)
    entities: tuple[ResultEntity, ...] | None = None  # Entities (PII) on finals with identification/redaction
    sentiment: str | None = None  # Sentiment on finals: POSITIVE | NEGATIVE | NEUTRAL | MIXED
    issues_detected: tuple[tuple[int, int], ...] | None = None  # IssuesDetected (Begin, End) on finals
    language_code: str | None = None  # LanguageCode with language identification
    language_identification: tuple[LanguageScore, ...] = ()  # LanguageIdentification (finals)


@dataclass(frozen=True)
class CategoryMatch:
    """CategoryEvent: categories that matched since the last one, and where (milliseconds)."""

    matched_categories: tuple[str, ...]  # MatchedCategories
    matched_details: tuple[tuple[str, tuple[tuple[int, int], ...]], ...]  # phrase -> TimestampRanges


def parse_configuration(payload: bytes, redaction: bool) -> CallConfiguration:
    """The ConfigurationEvent's JSON payload -> CallConfiguration. redaction: the stream has
    ContentRedactionType. Raises ValidationException (members the Smithy model requires or
    constrains) or BadRequestException (channel definitions, settings that don't fit)."""
    try:
        event = json.loads(payload or b"{}")
    except ValueError as error:
        raise BadRequestException(BAD_CONFIGURATION.format(error)) from None
    if not isinstance(event, dict):
        raise BadRequestException(BAD_CONFIGURATION.format("not a JSON object"))
    return CallConfiguration(
        _roles(event.get("ChannelDefinitions")), _post_call(event.get("PostCallAnalyticsSettings"), redaction)
    )


def _roles(definitions) -> tuple[str, str]:
    if definitions is None:
        return (AGENT, CUSTOMER)
    if not isinstance(definitions, list) or len(definitions) != 2 or not all(isinstance(d, dict) for d in definitions):
        raise BadRequestException(BAD_CHANNELS)
    by_channel = {d.get("ChannelId"): d.get("ParticipantRole") for d in definitions}
    if set(by_channel) != {0, 1} or set(by_channel.values()) != set(ROLES):
        raise BadRequestException(BAD_CHANNELS)
    return by_channel[0], by_channel[1]


def _post_call(settings, redaction: bool) -> PostCallSettings | None:
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise BadRequestException(BAD_CONFIGURATION.format("PostCallAnalyticsSettings is not an object"))
    violations = [
        f"Value null at 'postCallAnalyticsSettings.{member[0].lower() + member[1:]}' "
        f"failed to satisfy constraint: {_MISSING}"
        for member in ("OutputLocation", "DataAccessRoleArn")
        if not settings.get(member)
    ]
    role = settings.get("DataAccessRoleArn")
    pattern = shape("DataAccessRoleArn").metadata.get("pattern")
    if role and pattern and not re.match(pattern, role):
        violations.append(
            f"Value '{role}' at 'postCallAnalyticsSettings.dataAccessRoleArn' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern}"
        )
    output = settings.get("ContentRedactionOutput")
    if output is not None and output not in CONTENT_REDACTION_OUTPUTS:
        violations.append(
            f"Value '{output}' at 'postCallAnalyticsSettings.contentRedactionOutput' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(CONTENT_REDACTION_OUTPUTS)}]"
        )
    if violations:
        raise ValidationException(violations)
    if output is not None and not redaction:
        raise BadRequestException(REDACTION_OUTPUT_ALONE)
    if output_location(settings["OutputLocation"]) is None:
        raise BadRequestException(BAD_OUTPUT_LOCATION.format(uri=settings["OutputLocation"]))
    return PostCallSettings(settings["OutputLocation"], role, output, settings.get("OutputEncryptionKMSKeyId"))


def output_folder(key: str | None) -> str:
    """The folder ("" or "a/b/") of an OutputLocation key (service.call_analytics.output_location):
    None -> ""; "f/" -> "f/"; "f/x.json" -> "f/"; "x.json" -> ""."""
    if not key or key.endswith("/"):
        return key or ""
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""


def decided_at_end(category: dict) -> bool:
    """Whether only the whole call can decide the category (see the module docstring)."""
    for rule in category["Rules"]:
        for name, condition in rule.items():
            if condition is None:
                continue
            if condition.get("Negate") or name == "NonTalkTimeFilter" or "RelativeTimeRange" in condition:
                return True
            if "Last" in condition.get("AbsoluteTimeRange", {}):
                return True
    return False


class CallAnalyticsStreamSessions:
    """Opens Call Analytics streams over the process's StreamingSessions.

    streaming: emulator.service.streaming.StreamingSessions; categories: the
    CallAnalyticsCategories service (None: no category is evaluated); jobs: the Call Analytics
    job service (None: PostCallAnalyticsSettings writes nothing).
    """

    def __init__(self, streaming: StreamingSessions, categories=None, jobs=None):
        self.streaming = streaming
        self.categories = categories
        self.jobs = jobs
        self.post_calls: set[asyncio.Task] = set()  # post-call hand-overs still running (kept referenced)

    @property
    def in_flight(self) -> int:
        return self.streaming.in_flight

    def open(
        self, ctx, parameters: dict[str, str], medical: bool = False, transport: str = "-"
    ) -> "CallAnalyticsStreamSession":
        """Validate the start parameters (short names; `medical` is ignored: the transports'
        signature) and reserve the session id. Raises ValidationException / BadRequestException
        / ConflictException before the stream starts; quick (no model work)."""
        given = {name.lower(): value for name, value in parameters.items() if name.lower() in PARAMETERS}
        language = (given.get("language-code") or "").strip()
        if language and language not in LANGUAGE_CODES:
            raise ValidationException([
                f"Value '{language}' at 'languageCode' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(LANGUAGE_CODES)}]"
            ])
        inner = self.streaming.open(ctx, {**given, **_TWO_CHANNELS}, False, transport, operation=OPERATION)
        categories = self.categories.real_time_categories(ctx.region) if self.categories else []
        return CallAnalyticsStreamSession(self, inner, RequestContext(ctx.region, ctx.account_id), categories)


class CallAnalyticsStreamSession:
    """One Call Analytics stream (see the module docstring). `audio` and `end` must not run
    concurrently; `input_event` runs on the reader, before the audio it precedes is handed on."""

    def __init__(
        self, owner: CallAnalyticsStreamSessions, inner: StreamSession, ctx: RequestContext, categories: list[dict]
    ):
        self._owner = owner
        self._inner = inner
        self._ctx = ctx
        echoed = tuple(pair for pair in inner.settings.echoed if pair[0] not in _TWO_CHANNELS)
        self.settings: StreamSettings = dataclasses.replace(inner.settings, echoed=echoed)
        self.session_id = inner.session_id
        self.request_id = inner.request_id
        self.configuration: CallConfiguration | None = None
        self._categories = categories
        self._matched: set[str] = set()
        self._turns: list[tuple[Turn, Sentiment]] = []
        self._recording = None  # temporary file of the audio as sent, with PostCallAnalyticsSettings
        self._ended = False

    # --- transport-facing -------------------------------------------------------------

    def input_event(self, event_type: str, payload: bytes) -> None:
        """Each input event as the reader decodes it: the ConfigurationEvent is read (and
        checked) here; an AudioEvent before it is refused. Raises AWSError."""
        if event_type == "ConfigurationEvent":
            if self.configuration is not None:
                raise BadRequestException(CONFIGURATION_TWICE)
            self.configuration = parse_configuration(payload, bool(self.settings.content_redaction_type))
        elif self.configuration is None:
            raise BadRequestException(CONFIGURATION_FIRST)

    async def audio(self, chunk: bytes) -> list:
        """One AudioEvent's audio in; [Utterance | CategoryMatch] out. Raises AWSError."""
        if not chunk:
            return await self.end()
        if self.configuration is None:  # a caller that skipped input_event
            raise BadRequestException(CONFIGURATION_FIRST)
        if self.configuration.post_call is not None and self._owner.jobs is not None:
            await asyncio.to_thread(self._record, chunk)
        results = await self._inner.audio(chunk)
        return await asyncio.to_thread(self._utterances, results, False) if results else []

    async def end(self) -> list:
        """End of audio: the final utterances, the categories decided at the end. The post-call
        analysis is handed over in the background (the WAV written, the job started), so the
        final results don't wait for it. Idempotent."""
        if self._ended:
            return []
        self._ended = True
        out = await asyncio.to_thread(self._utterances, await self._inner.end(), True)
        if self._recording is not None:
            recording, self._recording = self._recording, None  # the hand-over closes it
            task = asyncio.create_task(asyncio.to_thread(self._post_call, recording))
            self._owner.post_calls.add(task)
            task.add_done_callback(self._owner.post_calls.discard)
        return out

    def fail(self, error: AWSError) -> None:
        self._inner.fail(error)

    def close(self) -> None:
        self._inner.close()
        if self._recording is not None:
            self._recording.close()
            self._recording = None

    def _record(self, chunk: bytes) -> None:
        """Keep the audio as sent (worker thread), for the post-call analysis."""
        if self._recording is None:
            self._recording = tempfile.TemporaryFile(prefix="call-analytics-stream-")
        self._recording.write(chunk)

    # --- results (worker thread) --------------------------------------------------------

    def _utterances(self, results: list[TranscriptResult], ending: bool) -> list:
        roles = (self.configuration or CallConfiguration()).roles
        out: list = []
        for result in results:
            role = roles[int((result.channel_id or "ch_0").removeprefix("ch_"))]
            out.append(self._utterance(result, role))
            if not result.is_partial:
                match = self._evaluate(at_end=False)
                if match is not None:
                    out.append(match)
        if ending:
            match = self._evaluate(at_end=True)
            if match is not None:
                out.append(match)
        return out

    def _utterance(self, result: TranscriptResult, role: str) -> Utterance:
        alternative = result.alternatives[0]
        label, issues = None, None
        if not result.is_partial:
            felt = sentiment(alternative.transcript)
            label = felt.label
            issues = tuple((i.begin, i.end) for i in insights(alternative.transcript) if i.kind == ISSUE)
            tokens = tuple(
                Token(i.type, i.content, i.confidence or 0.0, i.start_time, i.end_time) for i in alternative.items
            )
            if any(t.kind == "pronunciation" for t in tokens):
                self._turns.append((Turn(role, tokens), felt))
        return Utterance(
            utterance_id=result.result_id,
            is_partial=result.is_partial,
            participant_role=role,
            begin=result.start_time,
            end=result.end_time,
            transcript=alternative.transcript,
            items=alternative.items,
            entities=alternative.entities,
            sentiment=label,
            issues_detected=issues,
            language_code=result.language_code,
            language_identification=result.language_identification,
        )

    def _analysis(self) -> CallAnalysis:
        """The conversation so far, as the batch rules read it (no loudness: no rule uses it)."""
        pairs = sorted(self._turns, key=lambda pair: pair[0].begin)
        turns = [turn for turn, _ in pairs]
        runs = {role: speech_runs((w.start, w.end) for t in turns if t.role == role for w in t.words) for role in ROLES}
        duration = max((t.end for t in turns), default=0.0)
        return CallAnalysis(
            duration=duration,
            turns=turns,
            sentiments=[felt for _, felt in pairs],
            insights=[[] for _ in turns],
            runs=runs,
            interruptions=interruptions(runs),
            non_talk=non_talk(runs, duration),
        )

    def _evaluate(self, at_end: bool) -> CategoryMatch | None:
        """The REAL_TIME categories that match now and had not matched before."""
        pending = [
            c for c in self._categories
            if c["CategoryName"] not in self._matched and (at_end or not decided_at_end(c))
        ]
        if not pending or not self._turns:
            return None
        analysis = self._analysis()
        matched = matched_categories(pending, analysis)
        if not matched:
            return None
        self._matched.update(matched)
        details: dict[str, list[tuple[int, int]]] = {}
        for category in pending:
            if category["CategoryName"] in matched:
                for phrase, ranges in _phrase_details(category, analysis):
                    details.setdefault(phrase, []).extend(r for r in ranges if r not in details.get(phrase, []))
        return CategoryMatch(tuple(matched), tuple((p, tuple(r)) for p, r in details.items()))

    # --- post-call (worker thread) ------------------------------------------------------

    def _post_call(self, recording) -> None:
        """The kept audio (`recording`, closed here) as a stereo WAV beside the output, then a
        Call Analytics job on it. Failures are logged (the stream has ended: nothing can reach
        the client)."""
        post = self.configuration.post_call
        bucket, key = output_location(post.output_location)
        wav_key = f"{output_folder(key)}{self.session_id}.wav"
        jobs = self._owner.jobs
        try:
            with recording:
                recording.seek(0)
                data = stereo_wav(recording.read(), self.settings.media_encoding, self.settings.sample_rate)
            jobs.objects.put_bytes(bucket, wav_key, data, "audio/wav")
            jobs.start_job(self._ctx, self._job_request(f"s3://{bucket}/{wav_key}"))
        except AWSError as error:
            log.warning(
                "stream %s: post-call analytics not started: %s: %s", self.session_id, error.code, error.message
            )
        except Exception as error:  # noqa: BLE001 - S3 down or the bucket missing: log, the stream is over
            log.warning("stream %s: post-call analytics not started: %s", self.session_id, error)
        else:
            log.info(
                "stream %s: post-call analytics job %s started on s3://%s/%s",
                self.session_id, self.session_id, bucket, wav_key,
            )

    def _job_request(self, media_uri: str) -> dict:
        """StartCallAnalyticsJob's request for the post-call analysis of this stream."""
        s, post = self.settings, self.configuration.post_call
        languages = [s.language_code] if s.language_code else list(s.language_options)
        job_settings: dict = {"LanguageOptions": languages}
        if s.vocabulary_name:
            job_settings["VocabularyName"] = s.vocabulary_name
        if s.vocabulary_filter_name:
            job_settings["VocabularyFilterName"] = s.vocabulary_filter_name
            job_settings["VocabularyFilterMethod"] = s.vocabulary_filter_method
        if s.language_model_name:
            job_settings["LanguageModelName"] = s.language_model_name
        if s.content_redaction_type:
            redaction = {"RedactionType": "PII", "RedactionOutput": post.content_redaction_output or "redacted"}
            if s.pii_entity_types:
                redaction["PiiEntityTypes"] = list(s.pii_entity_types)
            job_settings["ContentRedaction"] = redaction
        request = {
            "CallAnalyticsJobName": self.session_id,
            "Media": {"MediaFileUri": media_uri},
            "OutputLocation": post.output_location,
            "DataAccessRoleArn": post.data_access_role_arn,
            "ChannelDefinitions": [
                {"ChannelId": channel, "ParticipantRole": role} for channel, role in enumerate(self.configuration.roles)
            ],
            "Settings": job_settings,
        }
        if post.output_encryption_kms_key_id:
            request["OutputEncryptionKMSKeyId"] = post.output_encryption_kms_key_id
        return request


def stereo_wav(audio: bytes, media_encoding: str, sample_rate: int) -> bytes:
    """A stream's audio as sent -> a 16-bit stereo WAV file: PCM (two interleaved s16le
    channels) as it came at `sample_rate`; FLAC / Ogg Opus decoded (PyAV) at 16 kHz, a mono
    stream's channel doubled. Raises emulator.engine.media.MediaError for undecodable audio."""
    if media_encoding == "pcm":
        rate, frames = sample_rate, audio[: len(audio) // 4 * 4]
    else:
        suffix = ".flac" if media_encoding == "flac" else ".ogg"
        with tempfile.NamedTemporaryFile(suffix=suffix) as source:
            source.write(audio)
            source.flush()
            channels = decode_channels(Path(source.name))
        if channels.shape[0] == 1:
            channels = np.vstack([channels, channels])
        rate, frames = SAMPLE_RATE, (np.clip(channels[:2].T, -1, 1) * 32767).astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return out.getvalue()


def _phrase_details(category: dict, analysis: CallAnalysis) -> list[tuple[str, list[tuple[int, int]]]]:
    """(target phrase, [(begin ms, end ms)]) of each target of the category's TranscriptFilter
    rules that is spoken (negated rules name what was not said: no details)."""
    out = []
    for rule in category["Rules"]:
        condition = rule.get("TranscriptFilter")
        if not condition or condition.get("Negate"):
            continue
        for target in condition["Targets"]:
            probe = {"CategoryName": target, "Rules": [{"TranscriptFilter": {**condition, "Targets": [target]}}]}
            points = matched_categories([probe], analysis).get(target)
            if points:
                out.append((target, [(p["BeginOffsetMillis"], p["EndOffsetMillis"]) for p in points]))
    return out


__all__ = [
    "CallAnalyticsStreamSessions",
    "CallAnalyticsStreamSession",
    "CallConfiguration",
    "CategoryMatch",
    "PostCallSettings",
    "Utterance",
    "parse_configuration",
    "stereo_wav",
]
