"""TranscribeAudio: a whole media file transcribed in the request, no job (new in 2026).

Shapes: botocore `TranscribeAudioRequest` / `TranscribeAudioResponse` (`TranscriptResponse`:
`Metadata` and `Results`, `RedactedResults` beside them with ContentRedaction) and the
operation's documentation in the same model; errors BadRequestException (with `Reason`,
`BadRequestExceptionReason`, for problems with the audio only), LimitExceededException,
InternalFailureException.

What is checked in the request thread, before any audio is touched: the combinations the
model's documentation rules out (exactly one of MediaBytes / MediaFileUri, of Language /
LanguageDetectionMode, ...), the named vocabularies and filters (read once, here), where the
media and the output go. The work itself (fetching, decoding, recognition, post-processing)
runs on the shared worker pool (emulator.service.worker) that runs the jobs; the request
thread only waits for it, so the event loop never blocks. When every worker is busy the
request is refused with LimitExceededException at once, as AWS refuses requests beyond its
concurrency quota.

Recognition and post-processing are the batch pipeline's (`TranscriptionPipeline.final_tokens`
over a JobPlan: language, DisplayAs, vocabulary filter, speaker labels), then PII redaction
(emulator.service.redaction) on the same tokens; only the rendering is TranscribeAudio's own.

Media: MediaBytes (at most 25 MB, the model's `MediaBytesBlob` max) or MediaFileUri (at most
500 MB) on the emulator's S3: `s3://bucket/key` and AWS's S3 https forms
(emulator.service.s3_uri). Any other http(s) URL is refused unless the emulator runs with
--allow-http-media; no other host is ever contacted by default.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from emulator.aws.errors import (
    AWSError,
    BadRequestException,
    InternalFailureException,
    LimitExceededException,
    SerializationException,
)
from emulator.aws.model import shape
from emulator.engine.media import SAMPLE_RATE, MediaError, MediaInfo, decode, decode_channels, probe
from emulator.engine.pii import PiiModelMissing
from emulator.service import s3_uri
from emulator.service.filtering import MASK
from emulator.service.pipeline import (
    INVALID_SAMPLE_RATE,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    SUPPORTED_CONTAINERS,
    JobFailed,
    JobRun,
    Media,
    TranscriptionPipeline,
    media_format,
)
from emulator.service.plan import (
    FIXED,
    IDENTIFY,
    JobPlan,
    LanguageChoice,
    LanguageResources,
    MediaRules,
    OutputPlan,
    RedactionPlan,
)
from emulator.service.redaction import find_pii, redact
from emulator.service.tokens import PRONUNCIATION, Token, join_tokens
from emulator.service.vocabulary_tables import Vocabulary, VocabularyEntry
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

KIND = "transcribe-audio"  # the worker pool's key kind for these requests
MAX_INLINE_BYTES = shape("MediaBytesBlob").metadata["max"]  # 26,214,400 bytes, before base64
MAX_URI_BYTES = 500 * 1024**2  # "the file can be up to 500 MB"
# The largest awsJson body of a TranscribeAudio request: MediaBytes at its maximum, base64
# encoded, plus 1 MiB for every other member. AWS does not publish its wire limit.
MAX_REQUEST_BYTES = (MAX_INLINE_BYTES + 2) // 3 * 4 + 1024**2
MIN_SECONDS, MAX_SECONDS = 0.5, 3600.0  # "between 0.5 seconds and 1 hour long"
MAX_CHANNELS = 2  # "Channel identification supports up to two channels"
# The locale each base language is reported as (SyncLanguageCode). AWS does not document which
# regional variant a base code becomes; these are the emulator's choice (README).
LOCALES = {
    "en": "en-US",
    "es": "es-US",
    "fr": "fr-FR",
    "it": "it-IT",
    "de": "de-DE",
    "ja": "ja-JP",
    "pt": "pt-BR",
    "ko": "ko-KR",
    "zh-CN": "zh-CN",
    "zh-TW": "zh-TW",
    "zh-HK": "zh-HK",
}
REDACTION_LANGUAGES = ("en", "es", "fr", "it", "de", "pt")  # ContentRedaction's documented limits
SYNC_FORMATS = SUPPORTED_CONTAINERS | {"m4a"}  # MediaFormat enum

# --- wording (AWS's own for these cases is not published: clear, in AWS's style) ----------

BUSY = (
    "You've reached the number of TranscribeAudio requests the emulator runs at once "
    "({workers} workers, shared with transcription jobs). Wait and try your request again."
)
ONE_MEDIA = "Specify exactly one of MediaBytes or MediaFileUri in Media."
ONE_LANGUAGE = "Include either Language or LanguageDetectionMode in your request, but not both."
OPTIONS_WITHOUT_DETECTION = "You can use LanguageOptions only with LanguageDetectionMode."
TOO_FEW_OPTIONS = "LanguageOptions must list two or more languages."
REPEATED_OPTION = "Each language can appear only once in LanguageOptions: {language} appears more than once."
SPEAKERS_NEED_MAX = "If you set ShowSpeakerLabels to true, you must also include MaxSpeakerLabels."
MAX_NEEDS_SPEAKERS = "You can set MaxSpeakerLabels only if ShowSpeakerLabels is true."
ENTRY_LANGUAGE_REPEATED = "Each language can appear in only one entry of {member}: {language} appears more than once."
ENTRY_ONE_SOURCE = "Include either {name} or {inline} in each entry of {member}, but not both."
ENTRIES_MIXED = "All entries of {member} must use the same type, either all by name or all inline."
ENTRY_NOT_LANGUAGE = (
    "The entry of {member} for {language} doesn't match the request's Language ({requested}). "
    "With Language, include exactly one entry, for that language."
)
ENTRY_NOT_OPTION = "The entry of {member} for {language} isn't one of the languages in LanguageOptions."
RESOURCE_LANGUAGE = "The language of the {noun} {name} ({theirs}) doesn't match its entry's Language ({language})."
REDACTION_LANGUAGE = (
    "Content redaction supports English (en), Spanish (es), French (fr), Italian (it), German (de) and "
    "Portuguese (pt), not {language}."
)
REDACTION_NEEDS_OPTIONS = (
    "With ContentRedaction and LanguageDetectionMode you must also include LanguageOptions, "
    "every language of which supports content redaction."
)
NOT_S3 = (
    "The emulator reads MediaFileUri only from its own S3 (s3://bucket/key or an Amazon S3 https URL); "
    "it doesn't fetch {uri}. Start the emulator with --allow-http-media to let it fetch other http(s) URLs."
)
NO_OBJECT = (  # the batch FailureReason's wording (emulator.service.pipeline)
    "The URI that you provided doesn't point to an S3 object. "
    "Make sure that the object exists and try your request again."
)
CANNOT_ACCESS = (
    "The S3 URI that you provided can't be accessed. "
    "Make sure that you have read permission and try your request again."
)
CANNOT_DOWNLOAD = "The media at {uri} couldn't be downloaded: {cause}."
BAD_OUTPUT_URI = "OutputMediaFileUri must be an Amazon S3 location (s3://bucket/key or s3://bucket/prefix/), not {uri}."
NO_OUTPUT_BUCKET = (
    "The specified S3 bucket can't be accessed: {bucket}. "
    "Make sure the bucket exists and that you have write permission, and try your request again."
)
TOO_SHORT = "Your audio is {seconds:.2f} seconds long; it must be at least 0.5 seconds long."
TOO_LONG = "Your audio is longer than the maximum duration of 1 hour."
FILE_TOO_LARGE = "Your media file is {size} bytes; a MediaFileUri file can be up to 500 MB ({limit} bytes)."
UNSUPPORTED_FORMAT = (
    "Unsupported media format: {what}. Supported formats are WAV, MP3, FLAC, M4A, MP4, Ogg, WebM, and AMR."
)
TOO_MANY_CHANNELS = "ChannelIdentification supports up to two channels; your audio has {channels}."
INVALID_AUDIO = "Amazon Transcribe couldn't decode your audio: {why}."
_UNDECODABLE = {"empty": "the file is empty", "no_audio": "it has no audio stream", "unreadable": "it is corrupt"}


@dataclass(frozen=True)
class MediaSource:
    """Where the audio comes from: inline bytes, an object of the emulator's S3, or (with
    --allow-http-media) an http(s) URL. `name`: the file name, for MediaFormat m4a."""

    data: bytes | None = None
    bucket: str | None = None
    key: str | None = None
    url: str | None = None

    @property
    def name(self) -> str:
        return self.key or urlsplit(self.url or "").path or ""


@dataclass(frozen=True)
class OutputLocation:
    """OutputConfiguration: the S3 object the (unredacted) transcript is written to."""

    bucket: str
    key: str

    def uri(self, key: str | None = None) -> str:
        return f"s3://{self.bucket}/{key or self.key}"


@dataclass
class SyncRequest:
    """A checked TranscribeAudio request: the plan the batch pipeline executes (language,
    filter method, speakers, channels, redaction), the resources read for it by language
    (locale), and where the audio comes from and the transcript goes."""

    request_id: str
    region: str
    plan: JobPlan
    media: MediaSource
    identify: bool
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    filter_words: dict[str, list[str]] = field(default_factory=dict)
    output: OutputLocation | None = None


class TranscribeAudio:
    """The TranscribeAudio operation.

    pipeline: the batch pipeline whose recognition and post-processing it runs (and whose
    PII detector and scratch directory it uses); pool: the worker pool the jobs share, whose
    runner calls `run((request_id,))` for keys of kind KIND; vocabularies / vocabulary_filters:
    the resource services that own named vocabularies and filters.
    """

    def __init__(
        self,
        pipeline: TranscriptionPipeline,
        pool,
        objects: ObjectStore,
        vocabularies,
        vocabulary_filters,
        allow_http_media: bool = False,
    ):
        self.pipeline = pipeline
        self.pool = pool
        self.objects = objects
        self.vocabularies = vocabularies
        self.vocabulary_filters = vocabulary_filters
        self.allow_http_media = allow_http_media
        self._pending: dict[str, tuple[SyncRequest, Future]] = {}
        self._lock = threading.Lock()

    def operations(self) -> dict:
        return {"TranscribeAudio": self.transcribe_audio}

    def transcribe_audio(self, ctx, params: dict) -> dict:
        """TranscribeAudioRequest -> TranscribeAudioResponse (blocks its request thread, not
        the event loop, until a worker has finished)."""
        request = self._request(ctx, params)
        if not self.pool.reserve():
            self.pool.release()
            raise LimitExceededException(BUSY.format(workers=self.pool.workers))
        future: Future = Future()
        with self._lock:
            self._pending[request.request_id] = (request, future)
        self.pool.submit((KIND, request.request_id))
        return future.result()

    def run(self, key: tuple) -> None:
        """The worker pool's runner for KIND keys: executes the request, hands back the answer."""
        with self._lock:
            request, future = self._pending.pop(key[0])
        started = time.monotonic()
        try:
            future.set_result(self._execute(request))
        except AWSError as e:
            future.set_exception(e)
        except Exception as e:  # a bug: the caller gets a 500, the log the traceback
            log.exception("TranscribeAudio %s failed", request.request_id)
            future.set_exception(InternalFailureException(f"Internal failure: {type(e).__name__}: {e}"))
        log.debug("TranscribeAudio %s ran %.2f s on a worker", request.request_id, time.monotonic() - started)

    # --- the request ------------------------------------------------------------------

    def _request(self, ctx, params: dict) -> SyncRequest:
        region = ctx.region
        media = self._media_source(params["Media"])
        language = params.get("Language")
        identify = params.get("LanguageDetectionMode") == "IDENTIFY_LANGUAGE"
        if bool(language) == identify:
            raise BadRequestException(ONE_LANGUAGE)
        options = params.get("LanguageOptions")
        if options is not None:
            _check_options(options, identify)
        languages = tuple(options or LOCALES) if identify else (language,)
        if params.get("ShowSpeakerLabels") and not params.get("MaxSpeakerLabels"):
            raise BadRequestException(SPEAKERS_NEED_MAX)
        if params.get("MaxSpeakerLabels") and not params.get("ShowSpeakerLabels"):
            raise BadRequestException(MAX_NEEDS_SPEAKERS)
        redaction = params.get("ContentRedaction")
        if redaction:
            _check_redaction_languages(languages if (language or options) else None)
        filters = params.get("VocabularyFilterSettings")
        vocabularies = {
            LOCALES[entry["Language"]]: self._vocabulary(region, entry)
            for entry in _entries(
                params.get("VocabularySettings"), "VocabularySettings", "VocabularyName", "Phrases", language, options
            )
        }
        filter_words = {
            LOCALES[entry["Language"]]: self._filter_words(region, entry)
            for entry in _entries(
                filters and filters["Filters"], "Filters", "VocabularyFilterName", "Words", language, options
            )
        }
        choice = (
            LanguageChoice(IDENTIFY, options=tuple(LOCALES[c] for c in languages))
            if identify
            else LanguageChoice(FIXED, LOCALES[language])
        )
        speakers = params.get("MaxSpeakerLabels") if params.get("ShowSpeakerLabels") else None
        request = SyncRequest(
            request_id=str(uuid.uuid4()),
            region=region,
            plan=JobPlan(
                language=choice,
                resources=LanguageResources(),
                # a filter applies in the languages it has words for (read here, kept in the run)
                language_resources=tuple(
                    (locale, LanguageResources(filter_method=filters["VocabularyFilterMethod"]))
                    for locale in filter_words
                ),
                media=MediaRules(media.name, channel_identification=bool(params.get("ChannelIdentification"))),
                output=OutputPlan(ctx.account_id),
                max_speaker_labels=speakers,
                redaction=RedactionPlan(redaction["RedactionOutput"], _tuple(redaction.get("PiiEntityTypes")))
                if redaction
                else None,
            ),
            media=media,
            identify=identify,
            vocabularies=vocabularies,
            filter_words=filter_words,
        )
        if params.get("OutputConfiguration"):
            request.output = self._output(params["OutputConfiguration"]["OutputMediaFileUri"], request.request_id)
        return request

    def _media_source(self, media: dict) -> MediaSource:
        if ("MediaBytes" in media) == ("MediaFileUri" in media):
            raise BadRequestException(ONE_MEDIA)
        if "MediaBytes" in media:
            try:
                return MediaSource(data=base64.b64decode(media["MediaBytes"], validate=True))
            except (binascii.Error, ValueError):
                raise SerializationException("only base-64-encoded strings are convertible to bytes") from None
        uri = media["MediaFileUri"]
        location = s3_uri.parse_s3_uri(uri, (self.objects.endpoint,))
        if location:
            return MediaSource(bucket=location[0], key=location[1])
        if uri.startswith("s3://"):
            raise BadRequestException(NO_OBJECT, "mediaDownloadFailed")
        if not self.allow_http_media:
            raise BadRequestException(NOT_S3.format(uri=uri))
        return MediaSource(url=uri)

    def _vocabulary(self, region: str, entry: dict) -> Vocabulary:
        """An entry's vocabulary: its inline Phrases (Text, DisplayAs), or the READY custom
        vocabulary it names, whose language must be the entry's."""
        if "Phrases" in entry:
            phrases = entry["Phrases"]
            return Vocabulary(
                tuple(VocabularyEntry(_phrase_words(p["Text"]), display_as=p.get("DisplayAs")) for p in phrases)
            )
        name = entry["VocabularyName"]
        theirs = _resource_language(self.vocabularies, region, name, entry["Language"], "vocabulary")
        return self.vocabularies.terms_for_job(region, name, theirs)

    def _filter_words(self, region: str, entry: dict) -> list[str]:
        if "Words" in entry:
            return list(entry["Words"])
        name = entry["VocabularyFilterName"]
        theirs = _resource_language(self.vocabulary_filters, region, name, entry["Language"], "vocabulary filter")
        return self.vocabulary_filters.words_for_job(region, name, theirs)

    def _output(self, uri: str, request_id: str) -> OutputLocation:
        """OutputMediaFileUri: a key is written as given; a bucket or a prefix ending in "/"
        gets `<request id>.json` (the model's `SyncOutputConfiguration` documentation)."""
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise BadRequestException(BAD_OUTPUT_URI.format(uri=uri))
        bucket, key = parts.netloc, parts.path.lstrip("/")
        if not key or key.endswith("/"):
            key = f"{key}{request_id}.json"
        try:
            exists = self.objects.bucket_exists(bucket)
        except StorageError:
            exists = False
        if not exists:
            raise BadRequestException(NO_OUTPUT_BUCKET.format(bucket=bucket))
        return OutputLocation(bucket, key)

    # --- the work (on a worker) -------------------------------------------------------

    def _execute(self, request: SyncRequest) -> dict:
        self.pipeline.scratch_dir.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix=f"sync-{request.request_id}-", dir=self.pipeline.scratch_dir))
        try:
            path = work_dir / "media"
            self._fetch(request.media, path)
            media = self._decode(path, request.media.name, request.plan.media.channel_identification)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        run = JobRun(
            request.plan,
            time.monotonic(),
            audio_seconds=len(media.mono) / SAMPLE_RATE,
            filter_words=dict(request.filter_words),
            inline_vocabularies=dict(request.vocabularies),
        )
        try:
            language, tokens, _ = self.pipeline.final_tokens(request.region, None, run, media)
        except JobFailed as e:  # no speech to identify a language from, an unusable resource
            raise BadRequestException(str(e)) from None
        response = {"Metadata": self._metadata(request, media, language.code, tokens)}
        redaction = request.plan.redaction
        if not redaction or redaction.output == "redacted_and_unredacted":
            response["Results"] = render_results(tokens, language.code, bool(request.filter_words))
        if redaction:
            try:
                found = find_pii(tokens, self.pipeline.pii_detector, list(redaction.entity_types or ()) or None)
            except PiiModelMissing as e:
                raise InternalFailureException(f"Internal failure: {e}") from None
            response["RedactedResults"] = render_results(redact(found), language.code, bool(request.filter_words))
        if request.output:
            return {"OutputConfiguration": {"OutputMediaFileUri": self._write(request.output, response)}}
        return {"TranscriptResponse": response}

    def _fetch(self, source: MediaSource, path: Path) -> None:
        """The media to `path`. BadRequestException mediaDownloadFailed / audioFileTooLarge."""
        if source.data is not None:
            path.write_bytes(source.data)
        elif source.url:
            _download(source.url, path)
        else:
            try:
                size = self.objects.stat(source.bucket, source.key).size
                if size > MAX_URI_BYTES:
                    raise _file_too_large(size)
                self.objects.download(source.bucket, source.key, path)
            except ObjectNotFound:
                raise BadRequestException(NO_OBJECT, "mediaDownloadFailed") from None
            except StorageUnavailable as e:  # the emulator's own S3 is down: not the caller's fault
                cause = f"the emulator's S3 server is unavailable ({e})"
                raise InternalFailureException(f"Internal failure: {cause}.") from None
            except StorageError:
                raise BadRequestException(CANNOT_ACCESS, "mediaDownloadFailed") from None

    @staticmethod
    def _decode(path: Path, name: str, per_channel: bool) -> Media:
        """Probes, checks and decodes the media (BadRequestException with its Reason)."""
        try:
            info = probe(path)
        except MediaError as e:
            raise BadRequestException(INVALID_AUDIO.format(why=_UNDECODABLE[e.problem.value]), "invalidAudio") from None
        if info.container not in SUPPORTED_CONTAINERS:
            what = f"{info.container} files aren't supported"
            raise BadRequestException(UNSUPPORTED_FORMAT.format(what=what), "unsupportedAudioFormat")
        if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
            raise BadRequestException(INVALID_SAMPLE_RATE, "unsupportedAudioFormat")
        if per_channel and info.channels > MAX_CHANNELS:
            raise BadRequestException(TOO_MANY_CHANNELS.format(channels=info.channels), "unsupportedChannelCount")
        if info.duration > MAX_SECONDS:
            raise BadRequestException(TOO_LONG, "audioTooLong")
        try:
            if per_channel:
                channels = decode_channels(path, max_seconds=MAX_SECONDS)
            else:
                channels = decode(path, max_seconds=MAX_SECONDS)[np.newaxis, :]
        except MediaError as e:
            raise BadRequestException(INVALID_AUDIO.format(why=_UNDECODABLE[e.problem.value]), "invalidAudio") from None
        samples = channels.shape[1]
        if samples > MAX_SECONDS * SAMPLE_RATE:
            raise BadRequestException(TOO_LONG, "audioTooLong")
        if samples < MIN_SECONDS * SAMPLE_RATE:
            raise BadRequestException(TOO_SHORT.format(seconds=samples / SAMPLE_RATE), "audioTooShort")
        mono = channels.mean(axis=0) if channels.shape[0] > 1 else channels[0]
        return Media(info, name, {}, channels if per_channel else None, mono)

    @staticmethod
    def _metadata(request: SyncRequest, media: Media, locale: str, tokens: list[Token]) -> dict:
        """TranscribeAudioMetadata: the language (with LanguageDetectionMode: the locale and
        the seconds of speech in it), format and rate as detected, speakers and channels
        when asked for."""
        metadata: dict = {}
        if request.identify:
            metadata["LanguageCode"] = locale
            metadata["LanguageCodes"] = [{"LanguageCode": locale, "DurationInSeconds": speech_seconds(tokens)}]
        metadata["MediaFormat"] = sync_media_format(media.info, media.key)
        metadata["MediaSampleRateHertz"] = media.info.sample_rate
        if request.plan.max_speaker_labels:
            metadata["SpeakersCount"] = len({t.speaker for t in tokens if t.speaker is not None})
        if request.plan.media.channel_identification:
            metadata["NumberOfChannels"] = int(media.channels.shape[0])
        return metadata

    def _write(self, output: OutputLocation, response: dict) -> str:
        """Writes the transcript file(s) (the TranscriptResponse JSON; a redacted one as
        `redacted-<name>` holding RedactedResults); returns the location the response names:
        the unredacted transcript's, or with `redacted` output only, the redacted one's."""
        metadata = response["Metadata"]
        written = []
        if "Results" in response:
            written.append((output.key, {"Metadata": metadata, "Results": response["Results"]}))
        if "RedactedResults" in response:
            folder, _, base = output.key.rpartition("/")
            key = f"{folder}/redacted-{base}" if folder else f"redacted-{base}"
            written.append((key, {"Metadata": metadata, "RedactedResults": response["RedactedResults"]}))
        for key, document in written:
            try:
                self.objects.put_bytes(output.bucket, key, json.dumps(document).encode(), "application/json")
            except StorageError as e:
                cause = f"the transcript couldn't be written to S3 ({e})"
                raise InternalFailureException(f"Internal failure: {cause}.") from None
        return output.uri(written[0][0])


# --- rendering --------------------------------------------------------------------------


def render_results(tokens: list[Token], locale: str, filtered: bool) -> dict:
    """TranscribeAudioResults from final tokens: `Transcript` (channel ch_0's text, then
    ch_1's) and `Items` (SyncItem: ids from 0, times as numbers of seconds, 3 decimals; a
    punctuation mark at the end time of the word before it). VocabularyFilterMatch is on every
    item when a filter was given (`filtered`): true for tagged or masked words."""
    ordered = sorted(tokens, key=lambda t: t.channel or "")  # stable: time order within a channel
    items = []
    last_end = 0.0
    for number, token in enumerate(ordered):
        if token.kind == PRONUNCIATION:
            start, end = token.start, token.end
            last_end = end
        else:
            start = end = last_end
        item: dict = {
            "Id": number,
            "Content": token.content,
            "StartTime": round(start, 3),
            "EndTime": round(end, 3),
            "LanguageCode": locale,
        }
        if token.channel:
            item["ChannelLabel"] = token.channel
        if token.speaker is not None:
            item["SpeakerLabel"] = token.speaker
        if filtered:
            item["VocabularyFilterMatch"] = token.filter_match or token.content == MASK
        if token.pii is not None:
            item["Redactions"] = [{"Type": token.pii.type}]
        items.append(item)
    return {"Transcript": join_tokens(ordered), "Items": items}


def speech_seconds(tokens: list[Token]) -> float:
    """Seconds of speech: each audio segment from its first word's start to its last word's end."""
    spans: dict[tuple, list[float]] = {}
    for token in tokens:
        if token.kind == PRONUNCIATION:
            span = spans.setdefault((token.channel, token.segment), [token.start, token.end])
            span[0], span[1] = min(span[0], token.start), max(span[1], token.end)
    return round(sum(end - start for start, end in spans.values()), 2)


def sync_media_format(info: MediaInfo, name: str) -> str:
    """MediaFormat as detected ("m4a" for an MP4 file named .m4a)."""
    detected = media_format(info, name)
    return detected if detected in SYNC_FORMATS else info.container


# --- checks -------------------------------------------------------------------------------


def _entries(entries, member: str, name: str, inline: str, language, options) -> list[dict]:
    """The entries of VocabularySettings or VocabularyFilterSettings.Filters, checked as the
    model's documentation says (one language each, one source each, all of one type,
    matching Language or LanguageOptions)."""
    if not entries:
        return []
    seen = set()
    for entry in entries:
        if entry["Language"] in seen:
            raise BadRequestException(ENTRY_LANGUAGE_REPEATED.format(member=member, language=entry["Language"]))
        seen.add(entry["Language"])
        if (name in entry) == (inline in entry):
            raise BadRequestException(ENTRY_ONE_SOURCE.format(name=name, inline=inline, member=member))
        if language and entry["Language"] != language:
            raise BadRequestException(
                ENTRY_NOT_LANGUAGE.format(member=member, language=entry["Language"], requested=language)
            )
        if options and entry["Language"] not in options:
            raise BadRequestException(ENTRY_NOT_OPTION.format(member=member, language=entry["Language"]))
    if len({name in entry for entry in entries}) > 1:
        raise BadRequestException(ENTRIES_MIXED.format(member=member))
    return entries


def _check_options(options: list[str], identify: bool) -> None:
    if not identify:
        raise BadRequestException(OPTIONS_WITHOUT_DETECTION)
    if len(options) < 2:
        raise BadRequestException(TOO_FEW_OPTIONS)
    for language in options:
        if options.count(language) > 1:
            raise BadRequestException(REPEATED_OPTION.format(language=language))


def _check_redaction_languages(languages: tuple[str, ...] | None) -> None:
    """None: LanguageDetectionMode without LanguageOptions, which redaction refuses."""
    if languages is None:
        raise BadRequestException(REDACTION_NEEDS_OPTIONS)
    for language in languages:
        if language not in REDACTION_LANGUAGES:
            raise BadRequestException(REDACTION_LANGUAGE.format(language=language))


def _resource_language(service, region: str, name: str, language: str, noun: str) -> str:
    """The LanguageCode of the named vocabulary or filter, which must be of the entry's base
    language ("en" takes en-US, en-GB, ...). BadRequestException as the service words it."""
    record = service.store.get(service.kind, region, name)
    if record is None:
        raise BadRequestException(service.NOT_FOUND)
    theirs = record.doc["LanguageCode"]
    if theirs != language and theirs.split("-")[0] != language:
        raise BadRequestException(RESOURCE_LANGUAGE.format(noun=noun, name=name, theirs=theirs, language=language))
    return theirs


def _phrase_words(text: str) -> str:
    """An inline phrase as a vocabulary entry's words ("Los-Angeles" -> "Los Angeles")."""
    return " ".join(text.replace("-", " ").split())


def _tuple(values) -> tuple | None:
    return tuple(values) if values is not None else None


def _file_too_large(size: int) -> BadRequestException:
    return BadRequestException(FILE_TOO_LARGE.format(size=size, limit=MAX_URI_BYTES), "audioFileTooLarge")


def _download(url: str, path: Path) -> None:
    """An http(s) URL to `path` (only with --allow-http-media), at most MAX_URI_BYTES."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
            size = 0
            while chunk := response.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_URI_BYTES:
                    raise _file_too_large(size)
                out.write(chunk)
    except OSError as e:  # URLError, HTTPError, timeouts
        raise BadRequestException(CANNOT_DOWNLOAD.format(uri=url, cause=e), "mediaDownloadFailed") from None
