"""AWS HealthScribe streaming sessions: StartMedicalScribeStream, GetMedicalScribeStream.
Transcribe semantics, independent of the transport (its HTTP/2 endpoint: streaming/medical_scribe_http2.py).

Sources: AWS developer guide "AWS HealthScribe streaming" (health-scribe-streaming.html) and its
code example page (output examples); the transcribe-streaming Smithy model as the JS SDK v3
ships it (`StartMedicalScribeStreamRequest`, `MedicalScribeConfigurationEvent`,
`MedicalScribeStreamDetails`, `ClinicalNoteGenerationResult`).

A session, as a transport drives it:

    streams = MedicalScribeStreams(store, objects, sessions)          # one per process
    start = await asyncio.to_thread(streams.prepare, ctx, parameters)  # headers; resume checks
        # raises AWSError BEFORE the stream starts (validation, ConflictException, ...)
    # ... the 200 response goes out; the first input event must be the configuration:
    scribe = await asyncio.to_thread(streams.open, start, configuration)  # ConfigurationEvent JSON
    results = await scribe.audio(chunk) / await scribe.end()           # TranscriptResults
    await scribe.finish(end_of_session=True)                           # always, once

* the start headers (language-code en-US, sample-rate 16000-48000 Hz, media-encoding pcm |
  ogg-opus | flac, session-id) are read as StartStreamTranscription's are
  (service.streaming_settings) and echoed back;
* the MedicalScribeConfigurationEvent (first input event) is validated here
  (`parse_configuration`): ResourceAccessRoleArn, PostStreamAnalyticsSettings
  .ClinicalNoteGenerationSettings {OutputBucketName, NoteTemplate}, ChannelDefinitions (two:
  channels 0 and 1, one CLINICIAN and one PATIENT; then the audio has two interleaved channels),
  VocabularyName / VocabularyFilterName (standard en-US resources, as the batch HealthScribe
  job's) with VocabularyFilterMethod, EncryptionSettings and MedicalScribeContext (recorded);
* recognition is a standard stream's (service.streaming.StreamSession): channel
  identification with ChannelDefinitions, speaker labels without (roles then as the batch job
  gives them: the first speaker is the CLINICIAN);
* END_OF_SESSION ends the session (StreamStatus COMPLETED) and starts the post-stream
  analytics on a thread of their own: the transcript and clinical note files, written as the
  batch HealthScribe job writes them (service.medical_scribe_pipeline.scribe_documents), to
  `s3://<OutputBucketName>/healthscribe-streaming/<session id>/post-stream-analytics/clinical-notes/`
  (`transcript.json`, `summary.json`); ClinicalNoteGenerationResult goes IN_PROGRESS ->
  COMPLETED (or FAILED with FailureReason);
* an input stream that ends (or a connection that drops) without END_OF_SESSION pauses the
  session (PAUSED): StartMedicalScribeStream with the same session-id resumes it within 5 hours
  of its creation, its first event the same configuration; the resumed audio's times continue
  where the session's audio stopped; past 2 hours of audio in all a stream gets
  LimitExceededException and the session stays PAUSED (resume it with END_OF_SESSION);
* sessions are resources of the store (kind `medical-scribe-stream`): they survive a restart
  (a session streaming when the process stopped is PAUSED; analytics that were running run
  again).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, replace

from emulator.aws.errors import (
    AWSError,
    BadRequestException,
    ConflictException,
    LimitExceededException,
    ValidationException,
)
from emulator.service.clinical_notes import TEMPLATES
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.medical_scribe import BAD_CHANNELS, SCRIBE_LANGUAGE
from emulator.service.medical_scribe_pipeline import scribe_documents
from emulator.service.stream_results import ResultItem, TranscriptResult
from emulator.service.streaming import StreamingSessions, StreamSession
from emulator.service.streaming_settings import StreamSettings, parse_settings
from emulator.service.tokens import Token
from emulator.storage.s3 import ObjectStore, StorageError, patiently
from emulator.storage.store import AlreadyExists, Record, Store

log = logging.getLogger(__name__)

KIND = "medical-scribe-stream"
OPERATION = "StartMedicalScribeStream"
RESUME_WINDOW_SECONDS = 5 * 3600.0  # AWS: resume as often as needed within 5 hours of creation
MAX_SESSION_AUDIO_SECONDS = 2 * 3600.0  # AWS: up to 2 hours of audio per session, all connections
MIN_SAMPLE_RATE = 16000  # MedicalScribeMediaSampleRateHertz: 16000-48000
NOT_NULL = "Member must not be null"
OUTPUT_PREFIX = "healthscribe-streaming/{session_id}/post-stream-analytics/clinical-notes"
TRANSCRIPT_FILE = "transcript.json"
CLINICAL_NOTE_FILE = "summary.json"
ROLES = ("CLINICIAN", "PATIENT")  # MedicalScribeParticipantRole
FILTER_METHODS = ("mask", "remove", "tag")  # MedicalScribeVocabularyFilterMethod
_ROLE_ARN = re.compile(  # IamRoleArn
    r"^arn:(aws|aws-cn|aws-us-gov|aws-iso-{0,1}[a-z]{0,1}):iam::[0-9]{0,63}:role/[A-Za-z0-9:_/+=,@.-]{0,1024}$"
)
_BUCKET = re.compile(r"^[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9]$")
_SESSION_ID = re.compile(r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$")

# Emulator wording: AWS documents the rules, not these messages.
MISSING_CONFIGURATION = (
    "The first event of a HealthScribe stream must be a MedicalScribeConfigurationEvent (received {received}). "
    "Send the configuration event first, then audio."
)
SECOND_CONFIGURATION = "A HealthScribe stream takes one MedicalScribeConfigurationEvent, as its first event."
SESSION_IN_USE = (
    "A stream with the session ID {session_id} is already in progress. "
    "Use a different session ID or wait for that stream to end."
)
SESSION_ENDED = (
    "The session {session_id} has ended (StreamStatus {status}) and can't be resumed. "
    "Start a new session to stream more audio."
)
RESUME_EXPIRED = (
    "The session {session_id} can't be resumed: sessions can be resumed only within 5 hours of their creation."
)
RESUME_MISMATCH = (
    "To resume the session {session_id}, send the same {what} as when the session started."
)
FILTER_METHOD_MISSING = (
    "VocabularyFilterMethod is required with VocabularyFilterName. Add it and try your request again."
)
SESSION_TOO_LONG = (
    "The session {session_id} has reached the maximum of 2 hours of audio. "
    "Resume it with the same session ID and send END_OF_SESSION to start the post-stream analytics."
)
NOT_FOUND = "The requested session couldn't be found. Check the session ID and try your request again."
NO_BUCKET = (
    "The output bucket {bucket} doesn't exist or the ResourceAccessRoleArn can't write to it. "
    "Check OutputBucketName and the role's permissions."
)
CANNOT_WRITE = "The post-stream analytics couldn't write to s3://{bucket}: {cause}"


class ResourceNotFoundException(AWSError):
    """GetMedicalScribeStream of an unknown session (Smithy httpError 404)."""

    code, status = "ResourceNotFoundException", 404


# --- start headers and the configuration event ----------------------------------------------


@dataclass(frozen=True)
class ScribeStart:
    """A validated start request, before the configuration event. record: the PAUSED session it
    resumes (None: a new session)."""

    region: str
    account_id: str
    session_id: str
    sample_rate: int  # MediaSampleRateHertz, Hz
    media_encoding: str  # MediaEncoding
    echoed: tuple[tuple[str, str], ...]  # (short name, value) of the start response's headers
    record: Record | None = None


@dataclass(frozen=True)
class ScribeConfiguration:
    """A validated MedicalScribeConfigurationEvent. details(): its members as
    MedicalScribeStreamDetails shows them."""

    resource_access_role_arn: str
    output_bucket: str  # ClinicalNoteGenerationSettings.OutputBucketName
    note_template: str | None  # NoteTemplate (None: HISTORY_AND_PHYSICAL)
    channel_definitions: tuple[tuple[int, str], ...] = ()  # (ChannelId, ParticipantRole)
    vocabulary_name: str | None = None
    vocabulary_filter_name: str | None = None
    vocabulary_filter_method: str | None = None
    encryption_settings: dict | None = None  # {KmsKeyId, KmsEncryptionContext?}: recorded, not used
    context: dict | None = None  # MedicalScribeContext: recorded, not used

    def details(self) -> dict:
        clinical: dict = {"OutputBucketName": self.output_bucket}
        if self.note_template:
            clinical["NoteTemplate"] = self.note_template
        out: dict = {}
        _put(out, "VocabularyName", self.vocabulary_name)
        _put(out, "VocabularyFilterName", self.vocabulary_filter_name)
        _put(out, "VocabularyFilterMethod", self.vocabulary_filter_method)
        out["ResourceAccessRoleArn"] = self.resource_access_role_arn
        if self.channel_definitions:
            out["ChannelDefinitions"] = [{"ChannelId": c, "ParticipantRole": r} for c, r in self.channel_definitions]
        _put(out, "EncryptionSettings", self.encryption_settings)
        out["PostStreamAnalyticsSettings"] = {"ClinicalNoteGenerationSettings": clinical}
        return out


def _put(out: dict, name: str, value) -> None:
    if value is not None:
        out[name] = value


def parse_start(parameters: dict[str, str], supported_language=None) -> tuple[StreamSettings, tuple]:
    """The start headers (short names) -> (StreamSettings of the headers, echoed headers).
    Raises ValidationException (AWS's wording, as StartStreamTranscription's)."""
    shown = ("language-code", "sample-rate", "media-encoding", "session-id")
    headers = {k: v for k, v in parameters.items() if k in shown}
    if not headers.get("language-code"):  # required here (a standard stream could identify the language)
        raise ValidationException(["Value null at 'languageCode' failed to satisfy constraint: " + NOT_NULL])
    settings = parse_settings(headers, medical=False, supported_language=supported_language)
    violations = []
    if settings.language_code != SCRIBE_LANGUAGE:
        violations.append(
            f"Value '{settings.language_code}' at 'languageCode' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{SCRIBE_LANGUAGE}]"
        )
    if settings.sample_rate < MIN_SAMPLE_RATE:
        violations.append(
            f"Value '{settings.sample_rate}' at 'mediaSampleRateHertz' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {MIN_SAMPLE_RATE}"
        )
    if violations:
        raise ValidationException(violations)
    echoed = tuple((short, value) for short, value in settings.echoed if short != "session-id")
    return settings, echoed


class _Violations:
    """Constraint violations of the configuration event, AWS's way (lowerCamelCase paths)."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def fail(self, path: str, value, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.found.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")

    def string(self, value, path: str, required: bool = False, pattern: re.Pattern | None = None,
               enum: tuple[str, ...] | None = None, max_len: int | None = None) -> str | None:
        if value is None:
            if required:
                self.fail(path, None, NOT_NULL)
            return None
        if not isinstance(value, str):
            self.fail(path, value, "Member must be a string")
            return None
        if enum is not None and value not in enum:
            self.fail(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        elif max_len is not None and len(value) > max_len:
            self.fail(path, value, f"Member must have length less than or equal to {max_len}")
        elif pattern is not None and not pattern.match(value):
            self.fail(path, value, f"Member must satisfy regular expression pattern: {pattern.pattern}")
        else:
            return value
        return None


def parse_configuration(event: dict) -> ScribeConfiguration:
    """A MedicalScribeConfigurationEvent's JSON payload -> ScribeConfiguration. Raises
    ValidationException (missing or malformed members) or BadRequestException (the rules of
    the module docstring)."""
    if not isinstance(event, dict):
        raise BadRequestException("The MedicalScribeConfigurationEvent must be a JSON object.")
    check = _Violations()
    role = check.string(event.get("ResourceAccessRoleArn"), "resourceAccessRoleArn", True, _ROLE_ARN, max_len=2048)
    analytics = event.get("PostStreamAnalyticsSettings")
    clinical = analytics.get("ClinicalNoteGenerationSettings") if isinstance(analytics, dict) else None
    bucket = template = None
    if not isinstance(analytics, dict):
        check.fail("postStreamAnalyticsSettings", None, NOT_NULL)
    elif not isinstance(clinical, dict):
        check.fail("postStreamAnalyticsSettings.clinicalNoteGenerationSettings", None, NOT_NULL)
    else:
        path = "postStreamAnalyticsSettings.clinicalNoteGenerationSettings"
        bucket = check.string(clinical.get("OutputBucketName"), f"{path}.outputBucketName", True, _BUCKET)
        template = check.string(clinical.get("NoteTemplate"), f"{path}.noteTemplate", enum=tuple(TEMPLATES))
    vocabulary = check.string(event.get("VocabularyName"), "vocabularyName", max_len=200)
    filter_name = check.string(event.get("VocabularyFilterName"), "vocabularyFilterName", max_len=200)
    method = check.string(event.get("VocabularyFilterMethod"), "vocabularyFilterMethod", enum=FILTER_METHODS)
    encryption = event.get("EncryptionSettings")
    if encryption is not None:
        if not isinstance(encryption, dict):
            check.fail("encryptionSettings", encryption, "Member must be a structure")
        else:
            check.string(encryption.get("KmsKeyId"), "encryptionSettings.kmsKeyId", True, max_len=2048)
    definitions = _channel_definitions(event.get("ChannelDefinitions"), check)
    if check.found:
        raise ValidationException(check.found)
    if filter_name and not method:
        raise BadRequestException(FILTER_METHOD_MISSING)
    context = event.get("MedicalScribeContext")
    return ScribeConfiguration(
        resource_access_role_arn=role,
        output_bucket=bucket,
        note_template=template,
        channel_definitions=definitions,
        vocabulary_name=vocabulary,
        vocabulary_filter_name=filter_name,
        vocabulary_filter_method=method,
        encryption_settings=encryption,
        context=context if isinstance(context, dict) else None,
    )


def _channel_definitions(value, check: _Violations) -> tuple[tuple[int, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) != 2:
        check.fail("channelDefinitions", value, "Member must have length equal to 2")
        return ()
    out = []
    for index, definition in enumerate(value):
        path = f"channelDefinitions.{index + 1}"
        definition = definition if isinstance(definition, dict) else {}
        channel = definition.get("ChannelId")
        if not isinstance(channel, int) or isinstance(channel, bool) or not 0 <= channel <= 1:
            check.fail(f"{path}.channelId", channel, "Member must have value between 0 and 1")
        role = check.string(definition.get("ParticipantRole"), f"{path}.participantRole", True, enum=ROLES)
        out.append((channel, role))
    if check.found:
        return ()
    if {c for c, _ in out} != {0, 1} or {r for _, r in out} != set(ROLES):
        raise BadRequestException(BAD_CHANNELS)
    return tuple(sorted(out))


# --- the service ----------------------------------------------------------------------------


class MedicalScribeStreams:
    """HealthScribe streaming sessions of the process.

    store: the Store (sessions are its `medical-scribe-stream` resources); objects: the
    ObjectStore the post-stream analytics write to; sessions: the process's StreamingSessions
    (recognition, vocabulary and filter resolution); supported_language(code) -> bool.
    """

    def __init__(self, store: Store, objects: ObjectStore, sessions: StreamingSessions, supported_language=None):
        self.store = store
        self.objects = objects
        self.sessions = sessions
        self.supported_language = supported_language
        self._analyses: dict[tuple[str, str], threading.Thread] = {}
        self._lock = threading.Lock()

    # --- StartMedicalScribeStream ------------------------------------------------------------

    def prepare(self, ctx: RequestContext, parameters: dict[str, str]) -> ScribeStart:
        """Validate the start headers; with a session-id of a known session, check that it can be
        resumed. Raises ValidationException, BadRequestException (ended, expired, other media
        settings), ConflictException (streaming now). Blocking (the store): call it in a thread."""
        settings, echoed = parse_start(parameters, self.supported_language)
        record = self.store.get(KIND, ctx.region, settings.session_id)
        if record is not None:
            self._check_resumable(record, settings)
        return ScribeStart(
            ctx.region, ctx.account_id, settings.session_id, settings.sample_rate, settings.media_encoding,
            echoed, record,
        )

    @staticmethod
    def _check_resumable(record: Record, settings) -> None:
        session_id = record.name
        if record.status == "IN_PROGRESS":
            raise ConflictException(SESSION_IN_USE.format(session_id=session_id))
        if record.status != "PAUSED":
            raise BadRequestException(SESSION_ENDED.format(session_id=session_id, status=record.status))
        if aws_now() - record.creation_time > RESUME_WINDOW_SECONDS:
            raise BadRequestException(RESUME_EXPIRED.format(session_id=session_id))
        doc = record.doc
        if (doc["MediaSampleRateHertz"], doc["MediaEncoding"]) != (settings.sample_rate, settings.media_encoding):
            raise BadRequestException(
                RESUME_MISMATCH.format(session_id=session_id, what="media-encoding and sample-rate")
            )

    def open(self, start: ScribeStart, event: dict, transport: str = "http2") -> "ScribeSession":
        """The configuration event's JSON -> a streaming session (new, or the PAUSED one resumed;
        its record IN_PROGRESS). Raises ValidationException / BadRequestException (configuration,
        unknown vocabulary or filter), ConflictException. Blocking: call it in a thread."""
        config = parse_configuration(event)
        if start.record is not None:
            same = start.record.internal["Configuration"] == config.details()
            if not same or start.record.internal["MedicalScribeContext"] != config.context:
                raise BadRequestException(RESUME_MISMATCH.format(session_id=start.session_id, what="configuration"))
        parameters = {
            "language-code": SCRIBE_LANGUAGE,
            "sample-rate": str(start.sample_rate),
            "media-encoding": start.media_encoding,
            "session-id": start.session_id,
        }
        if config.channel_definitions:
            parameters.update({"enable-channel-identification": "true", "number-of-channels": "2"})
        else:
            parameters["show-speaker-label"] = "true"
        for short, value in (
            ("vocabulary-name", config.vocabulary_name),
            ("vocabulary-filter-name", config.vocabulary_filter_name),
            ("vocabulary-filter-method", config.vocabulary_filter_method),
        ):
            if value:
                parameters[short] = value
        session = self.sessions.open(RequestContext(start.region, start.account_id), parameters, False, transport)
        session.operation = OPERATION  # the close log line names the operation
        try:
            record = self._begin(start, config)
        except BaseException:
            session.close()
            raise
        roles = ",".join(r for _, r in config.channel_definitions)
        log.info(
            "HealthScribe stream %s %s: %s, %d Hz %s, %s",
            start.session_id, "resumed" if start.record else "started",
            f"channels {roles}" if roles else "speaker labels", start.sample_rate, start.media_encoding,
            config.note_template or "HISTORY_AND_PHYSICAL",
        )
        return ScribeSession(self, record, session)

    def _begin(self, start: ScribeStart, config: ScribeConfiguration) -> Record:
        """Create the session's record, or move the PAUSED one to IN_PROGRESS."""
        if start.record is None:
            doc = {
                "SessionId": start.session_id,
                "StreamCreatedAt": aws_now(),
                "LanguageCode": SCRIBE_LANGUAGE,
                "MediaSampleRateHertz": start.sample_rate,
                "MediaEncoding": start.media_encoding,
                **config.details(),
                "StreamStatus": "IN_PROGRESS",
                "MedicalScribeContextProvided": config.context is not None,
            }
            internal = {
                "Configuration": config.details(),
                "MedicalScribeContext": config.context,
                "AudioSeconds": 0.0,
                "Segments": [],
            }
            record = Record(KIND, start.region, start.session_id, "IN_PROGRESS", doc["StreamCreatedAt"], doc, internal)
            try:
                self.store.insert(record)
            except AlreadyExists:  # another start with this id got there first
                raise ConflictException(SESSION_IN_USE.format(session_id=start.session_id)) from None
            return record

        def resume(record: Record) -> None:
            if record.status != "PAUSED":
                raise ConflictException(SESSION_IN_USE.format(session_id=record.name))
            record.status = record.doc["StreamStatus"] = "IN_PROGRESS"

        record = self.store.modify(KIND, start.region, start.session_id, resume)
        if record is None:
            raise ConflictException(SESSION_IN_USE.format(session_id=start.session_id))
        return record

    def _end(self, region: str, session_id: str, status: str, segments: list[dict], audio_seconds: float) -> None:
        """Record how a connection ended: the final segments it added, its audio, the status;
        COMPLETED starts the post-stream analytics."""

        def change(record: Record) -> None:
            record.internal["Segments"] = record.internal["Segments"] + segments
            record.internal["AudioSeconds"] = record.internal["AudioSeconds"] + audio_seconds
            record.status = record.doc["StreamStatus"] = status
            if status in ("COMPLETED", "FAILED"):
                record.doc["StreamEndedAt"] = aws_now()
            if status == "COMPLETED":
                record.doc["PostStreamAnalyticsResult"] = {"ClinicalNoteGenerationResult": {"Status": "IN_PROGRESS"}}

        self.store.modify(KIND, region, session_id, change)
        log.info("HealthScribe stream %s %s: %d final segments, %.1f s of audio in this connection",
                 session_id, status, len(segments), audio_seconds)
        if status == "COMPLETED":
            self._start_analysis(region, session_id)

    # --- post-stream analytics ---------------------------------------------------------------

    def _start_analysis(self, region: str, session_id: str) -> None:
        key = (region, session_id)
        with self._lock:
            self._analyses = {k: t for k, t in self._analyses.items() if t.is_alive()}
            if key in self._analyses:
                return
            thread = threading.Thread(
                target=self._analyse, args=key, daemon=True, name=f"scribe-analytics-{session_id[:8]}"
            )
            self._analyses[key] = thread
        thread.start()

    def _analyse(self, region: str, session_id: str) -> None:
        """The post-stream analytics of a COMPLETED session (module docstring); never raises."""
        try:
            record = self.store.get(KIND, region, session_id)
            if record is None:
                return
            result = self._write_outputs(record)
        except Exception as error:  # noqa: BLE001 - a failure is the session's FAILED result, not a crash
            log.exception("post-stream analytics of %s failed", session_id)
            result = {"Status": "FAILED", "FailureReason": f"The post-stream analytics failed: {error}"}

        def change(record: Record) -> None:
            record.doc["PostStreamAnalyticsResult"] = {"ClinicalNoteGenerationResult": result}

        try:
            self.store.modify(KIND, region, session_id, change)
        except AWSError:
            log.exception("recording the post-stream analytics of %s failed", session_id)
        log.info("post-stream analytics of %s: %s", session_id, result["Status"])

    def _write_outputs(self, record: Record) -> dict:
        """Write the transcript and clinical note; -> ClinicalNoteGenerationResult."""
        doc = record.doc
        settings = doc["PostStreamAnalyticsSettings"]["ClinicalNoteGenerationSettings"]
        bucket = settings["OutputBucketName"]
        tokens, ids = tokens_of_segments(record.internal["Segments"])
        header = {"ConversationId": str(uuid.uuid4()), "SessionId": record.name}
        transcript, clinical = scribe_documents(
            tokens, doc.get("ChannelDefinitions"), settings.get("NoteTemplate"), header, segment_ids(ids)
        )
        clinical["ClinicalDocumentation"]["SessionId"] = record.name
        prefix = OUTPUT_PREFIX.format(session_id=record.name)
        locations = {}
        try:
            if not self.objects.bucket_exists(bucket):
                return {"Status": "FAILED", "FailureReason": NO_BUCKET.format(bucket=bucket)}
            for member, name, body in (
                ("TranscriptOutputLocation", TRANSCRIPT_FILE, transcript),
                ("ClinicalNoteOutputLocation", CLINICAL_NOTE_FILE, clinical),
            ):
                key = f"{prefix}/{name}"
                data = json.dumps(body).encode("utf-8")
                patiently(
                    lambda: self.objects.put_bytes(bucket, key, data, "application/json"),
                    what=f"writing s3://{bucket}/{key}",
                )
                locations[member] = f"s3://{bucket}/{key}"
        except StorageError as error:
            return {"Status": "FAILED", "FailureReason": CANNOT_WRITE.format(bucket=bucket, cause=error)}
        return {
            "ClinicalNoteOutputLocation": locations["ClinicalNoteOutputLocation"],
            "TranscriptOutputLocation": locations["TranscriptOutputLocation"],
            "Status": "COMPLETED",
        }

    # --- GetMedicalScribeStream --------------------------------------------------------------

    def get_stream(self, ctx: RequestContext, session_id: str) -> dict:
        """-> {MedicalScribeStreamDetails}. ValidationException (not a session id),
        ResourceNotFoundException. Blocking (the store)."""
        if not _SESSION_ID.match(session_id or ""):
            raise ValidationException([
                f"Value '{session_id}' at 'sessionId' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {_SESSION_ID.pattern}"
            ])
        record = self.store.get(KIND, ctx.region, session_id)
        if record is None:
            raise ResourceNotFoundException(NOT_FOUND)
        return {"MedicalScribeStreamDetails": dict(record.doc)}

    # --- restart -----------------------------------------------------------------------------

    def resume_pending(self) -> int:
        """At startup: sessions that were streaming when the process stopped are PAUSED (their
        client can resume them); post-stream analytics that were running run again. Returns how
        many analytics were restarted."""
        restarted = 0
        for record in self.store.with_status(KIND, ("IN_PROGRESS", "COMPLETED")):
            if record.status == "IN_PROGRESS":

                def pause(r: Record) -> None:
                    r.status = r.doc["StreamStatus"] = "PAUSED"

                self.store.modify(KIND, record.region, record.name, pause)
                continue
            result = record.doc.get("PostStreamAnalyticsResult", {}).get("ClinicalNoteGenerationResult", {})
            if result.get("Status") == "IN_PROGRESS":
                self._start_analysis(record.region, record.name)
                restarted += 1
        return restarted


# --- one connection --------------------------------------------------------------------------


class ScribeSession:
    """One connection of a HealthScribe session: the StreamSession's results shifted to the
    session's timeline (after earlier connections' audio), its final results kept for the
    post-stream analytics. `audio` and `end` as StreamSession's; `finish` once at the end."""

    def __init__(self, owner: MedicalScribeStreams, record: Record, session: StreamSession):
        self._owner = owner
        self._session = session
        self.region = record.region
        self.session_id = session.session_id
        self.settings = session.settings
        self.offset = float(record.internal["AudioSeconds"])  # s of audio of earlier connections
        self._segments: list[dict] = []
        self.error: AWSError | None = None

    async def audio(self, chunk: bytes) -> list[TranscriptResult]:
        """Raises LimitExceededException past the session's 2 hours of audio (the session then
        pauses: AWS's advice is to resume it and send END_OF_SESSION)."""
        if self.offset + self._session.audio_seconds >= MAX_SESSION_AUDIO_SECONDS:
            raise LimitExceededException(SESSION_TOO_LONG.format(session_id=self.session_id))
        return self._take(await self._session.audio(chunk))

    async def end(self) -> list[TranscriptResult]:
        return self._take(await self._session.end())

    def fail(self, error: AWSError) -> None:
        self.error = self.error or error
        self._session.fail(error)

    def finish(self, end_of_session: bool) -> str:
        """Close the connection and record the session's state: COMPLETED after END_OF_SESSION
        (the analytics start), FAILED after an error (PAUSED after the audio limit), else PAUSED.
        Returns that status. Blocking (the store): call it in a thread."""
        self._session.close()
        if self.error is not None:
            status = "PAUSED" if isinstance(self.error, LimitExceededException) else "FAILED"
        else:
            status = "COMPLETED" if end_of_session else "PAUSED"
        self._owner._end(self.region, self.session_id, status, self._segments, self._session.audio_seconds)
        return status

    def _take(self, results: list[TranscriptResult]) -> list[TranscriptResult]:
        shifted = [shift_result(r, self.offset) for r in results]
        self._segments += [segment_of(r) for r in shifted if not r.is_partial]
        return shifted


def shift_result(result: TranscriptResult, offset: float) -> TranscriptResult:
    """`result` with its times (and its items') `offset` seconds later."""
    if not offset:
        return result

    def later(item: ResultItem) -> ResultItem:
        return replace(item, start_time=round(item.start_time + offset, 3), end_time=round(item.end_time + offset, 3))

    alternatives = tuple(replace(a, items=tuple(later(i) for i in a.items)) for a in result.alternatives)
    return replace(
        result,
        start_time=round(result.start_time + offset, 3),
        end_time=round(result.end_time + offset, 3),
        alternatives=alternatives,
    )


def segment_of(result: TranscriptResult) -> dict:
    """A final result as the session record keeps it (JSON)."""
    items = result.alternatives[0].items if result.alternatives else ()
    return {
        "SegmentId": result.result_id,
        "ChannelId": result.channel_id,
        "Items": [
            [i.type, i.content, i.confidence or 0.0, i.start_time, i.end_time, i.speaker,
             bool(i.vocabulary_filter_match)]
            for i in items
        ],
    }


def tokens_of_segments(segments: list[dict]) -> tuple[list[Token], list[str]]:
    """The kept final results -> (tokens in order, each with `segment` = its result's index;
    the result ids by index)."""
    tokens: list[Token] = []
    for index, segment in enumerate(segments):
        for kind, content, confidence, start, end, speaker, matched in segment["Items"]:
            tokens.append(
                Token(kind, content, confidence, start, end, segment=index, channel=segment["ChannelId"],
                      speaker=speaker, filter_match=matched)
            )
    return tokens, [segment["SegmentId"] for segment in segments]


def segment_ids(ids: list[str]):
    """Turn -> SegmentId: the id of the streamed result the turn comes from (the one the client
    saw), a new UUID for a second turn of the same result (another speaker)."""
    used: set[str] = set()

    def segment_id(turn) -> str:
        candidate = ids[turn.tokens[0].segment]
        if candidate in used:
            candidate = str(uuid.uuid4())
        used.add(candidate)
        return candidate

    return segment_id
