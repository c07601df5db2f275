"""Running one transcription job: media from S3, checks, decoding, recognition, transcript to S3.

Runs on a worker thread. Every failure of the media ends the job FAILED with Amazon
Transcribe's FailureReason wording (botocore `TranscriptionJob.FailureReason` docs and
wordings recorded from AWS; where AWS's text is unknown the README says so); nothing
here raises to the worker.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emulator.engine.media import SAMPLE_RATE, MediaError, MediaInfo, MediaProblem, decode, probe
from emulator.engine.recognizer import RecognitionOptions, Recognizer
from emulator.service import s3_uri
from emulator.service.jobs import KIND
from emulator.service.output import render_transcript
from emulator.service.store import Record, Store
from emulator.storage.models import ModelStore
from emulator.storage.s3 import ObjectNotFound, ObjectStore, StorageError

log = logging.getLogger(__name__)

# MediaFormat values (botocore enum `MediaFormat`) by detected container family.
SUPPORTED_CONTAINERS = {"mp3", "mp4", "wav", "flac", "ogg", "amr", "webm"}
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 48000  # Hz, botocore `MediaSampleRateHertz`
MIN_DURATION = 0.5  # seconds


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
NO_OUTPUT_BUCKET = (
    "The specified S3 bucket can't be accessed: {bucket}. "
    "Make sure the bucket exists and that you have write permission, and try your request again."
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


def check_media(info: MediaInfo, key: str, declared_format: str | None, declared_rate: int | None, limits: Limits):
    """Raises JobFailed with AWS's FailureReason for media AWS would not transcribe."""
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


class TranscriptionPipeline:
    """Callable for the worker pool: `pipeline((region, job_name))`."""

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
    ):
        self.store = store
        self.objects = objects
        self.recognizer = recognizer
        self.models = models
        self.scratch_dir = scratch_dir
        self.limits = limits
        self.beam_size = beam_size
        self.clock = clock

    def __call__(self, key: tuple[str, str]) -> None:
        region, name = key
        record = self.store.get(KIND, region, name)
        if record is None or record.status not in ("QUEUED", "IN_PROGRESS"):
            return  # deleted while it waited
        if record.status == "QUEUED":
            record.status = record.doc["TranscriptionJobStatus"] = "IN_PROGRESS"
            record.doc["StartTime"] = self.clock()
            if not self.store.update(record):
                return
        work_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self._scratch()))
        try:
            self._run(record, work_dir)
        except JobFailed as failure:
            self._finish(record, "FAILED", failure_reason=str(failure))
        except Exception as e:  # a bug must not leave the job running forever
            log.exception("job %s failed unexpectedly", name)
            self._finish(record, "FAILED", failure_reason=f"Internal failure: {type(e).__name__}: {e}")
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def clear_scratch(self) -> None:
        """Removes work files a killed process left behind; call before the workers start."""
        shutil.rmtree(self.scratch_dir, ignore_errors=True)

    def _scratch(self) -> Path:
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return self.scratch_dir

    def _run(self, record: Record, work_dir: Path) -> None:
        doc, internal = record.doc, record.internal
        bucket, key = s3_uri.parse_s3_uri(doc["Media"]["MediaFileUri"], (self.objects.endpoint,))
        output = self._output_location(record)
        media_path = work_dir / "media"
        self._fetch(bucket, key, media_path)
        try:
            info = probe(media_path)
        except MediaError as e:
            raise JobFailed(unsupported_format(_UNREADABLE[e.problem])) from e
        check_media(info, key, doc.get("MediaFormat"), doc.get("MediaSampleRateHertz"), self.limits)
        try:
            samples = decode(media_path, max_seconds=self.limits.max_seconds)
        except MediaError as e:
            raise JobFailed(unsupported_format(_UNREADABLE[e.problem])) from e
        if len(samples) > self.limits.max_seconds * SAMPLE_RATE:
            raise JobFailed(TOO_LONG)  # the header did not say how long it is
        if len(samples) < MIN_DURATION * SAMPLE_RATE:
            raise JobFailed(TOO_SHORT)

        language = doc["LanguageCode"].split("-")[0]
        transcription = self.recognizer.transcribe(
            samples,
            self.models.model_for_language(language),
            RecognitionOptions(language=language, beam_size=self.beam_size),
        )
        transcript = render_transcript(record.name, internal["AccountId"], transcription)

        if self.store.get(KIND, record.region, record.name) is None:
            return  # deleted while it ran: write nothing
        self.objects.put_bytes(
            output["bucket"], output["key"], json.dumps(transcript).encode(), "application/json"
        )
        internal["Transcript"] = output
        doc["MediaFormat"] = doc.get("MediaFormat") or media_format(info, key)
        doc["MediaSampleRateHertz"] = doc.get("MediaSampleRateHertz") or info.sample_rate
        self._finish(record, "COMPLETED")

    def _fetch(self, bucket: str, key: str, path: Path) -> None:
        try:
            size = self.objects.stat(bucket, key).size
        except ObjectNotFound:
            raise JobFailed(NO_SUCH_OBJECT) from None
        except StorageError:
            raise JobFailed(CANNOT_ACCESS) from None
        if size > self.limits.max_bytes:
            raise JobFailed(TOO_LARGE)
        try:
            self.objects.download(bucket, key, path)
        except ObjectNotFound:
            raise JobFailed(NO_SUCH_OBJECT) from None
        except StorageError:
            raise JobFailed(CANNOT_ACCESS) from None

    def _output_location(self, record: Record) -> dict:
        """Checked before transcribing, so a bad bucket fails fast."""
        internal = record.internal
        bucket = internal.get("OutputBucketName")
        try:
            if bucket:
                if not self.objects.bucket_exists(bucket):
                    raise JobFailed(NO_OUTPUT_BUCKET.format(bucket=bucket))
                key = s3_uri.customer_output_key(record.name, internal.get("OutputKey"))
                return {"type": "CUSTOMER_BUCKET", "bucket": bucket, "key": key}
            bucket = s3_uri.service_bucket(record.region)
            self.objects.ensure_bucket(bucket)
        except StorageError:
            raise JobFailed(NO_OUTPUT_BUCKET.format(bucket=bucket)) from None
        key = f"{internal['AccountId']}/{record.name}/{uuid.uuid4()}/asrOutput.json"
        return {"type": "SERVICE_BUCKET", "bucket": bucket, "key": key}

    def _finish(self, record: Record, status: str, failure_reason: str | None = None) -> None:
        record.status = record.doc["TranscriptionJobStatus"] = status
        if failure_reason:
            # As recorded from AWS (test_transcribe_error_invalid_length): no CompletionTime.
            record.doc["FailureReason"] = failure_reason
        else:
            record.doc["CompletionTime"] = self.clock()
        self.store.update(record)
