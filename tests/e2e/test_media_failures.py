"""Media that Amazon Transcribe will not transcribe: each job ends FAILED with AWS's FailureReason.

A user's session against the running emulator: boto3 puts a file into the emulator's S3,
starts a job, polls it, reads FailureReason. Test media is made in tmp_path (or read from
the shared audio); nothing is copied into the repo. A FAILED job never carries a
TranscriptFileUri, and after all of this the server still completes a good job.
"""

from __future__ import annotations

import io
import random
import uuid
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from emulator.service.pipeline import (
    FORMAT_MISMATCH,
    INVALID_SAMPLE_RATE,
    NO_OUTPUT_BUCKET,
    NO_SUCH_OBJECT,
    SAMPLE_RATE_MISMATCH,
    TOO_LARGE,
    TOO_LONG,
    TOO_SHORT,
    unsupported_format,
)
from tests.support import EmulatorProcess, audio_path, wait_for_job

# Recorded from AWS (shared/reference/aws-recorded-responses.json); note the missing space.
AWS_TOO_LONG = (
    "Invalid file size: file size too large. Maximum audio duration is 4.000000 hours."
    "Check the length of the file and try your request again."
)
EMPTY_FILE = unsupported_format("the file is empty")
CORRUPT_FILE = unsupported_format("it is corrupt or not a media file")

SPEECH_WAV = "librivox_0880"  # 16 kHz mono 16-bit PCM, 2.99 s of speech


# --- making media -----------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Mono 16-bit PCM wav."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def speech_pcm(item_id: str, rate: int) -> np.ndarray:
    """A shared clip decoded and resampled with PyAV to mono int16 at `rate` Hz."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    chunks = []
    with av.open(str(audio_path(item_id))) as container:
        for frame in container.decode(audio=0):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks)


def empty_file(tmp_path: Path) -> Path:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    return path


def random_bytes_wav(tmp_path: Path) -> Path:
    path = tmp_path / "noise.wav"
    path.write_bytes(random.Random(1234).randbytes(50_000))
    return path


def wav_header_only(tmp_path: Path) -> Path:
    data = audio_path(SPEECH_WAV).read_bytes()
    header_end = data.index(b"data") + 8  # RIFF/fmt chunks plus the data chunk's id and size
    path = tmp_path / "header-only.wav"
    path.write_bytes(data[:header_end])
    return path


def wav_first_100_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "first-100-bytes.wav"
    path.write_bytes(audio_path(SPEECH_WAV).read_bytes()[:100])
    return path


def aiff_file(tmp_path: Path) -> Path:
    return audio_path("sr_french")


def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("This is a text file, not audio.\n" * 100)
    return path


def speech_0_3_s(tmp_path: Path) -> Path:
    """0.3 s cut from the middle of a spoken sentence: real speech, too short."""
    pcm = speech_pcm(SPEECH_WAV, 16000)
    return write_wav(tmp_path / "short.wav", pcm[int(1.2 * 16000) : int(1.5 * 16000)], 16000)


def speech_6000_hz(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "speech-6000hz.wav", speech_pcm(SPEECH_WAV, 6000), 6000)


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable file: what an encoder writing to stdout sees."""

    def __init__(self, f):
        self.f = f

    def writable(self):
        return True

    def write(self, data):
        return self.f.write(data)


def silence_flac(path: Path, seconds: int, streamed: bool = False) -> Path:
    """Digital silence, 8000 Hz mono FLAC in 65535-sample frames (4 h: ~33 KB, under 1 s to make).

    streamed: written as to a pipe, so the muxer cannot seek back to fill in STREAMINFO; its
    total-samples field stays 0, "unknown", as in the output of `flac -` or `ffmpeg -f flac -`.
    """
    rate, total = 8000, seconds * 8000
    silence = np.zeros((1, 65535 * 16), dtype=np.int16)
    with open(path, "wb") as f, av.open(_Pipe(f) if streamed else f, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        stream.codec_context.format = "s16"
        stream.codec_context.options = {"frame_size": "65535"}  # FLAC's largest block
        written = 0
        while written < total:
            n = min(silence.shape[1], total - written)
            frame = av.AudioFrame.from_ndarray(silence[:, :n], format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, written
            out.mux(stream.encode(frame))
            written += n
        out.mux(stream.encode(None))
    return path


def flac_total_samples(path: Path) -> int:
    """STREAMINFO's 36-bit total-samples field (0: unknown)."""
    head = path.read_bytes()[:42]
    assert head[:4] == b"fLaC" and head[4] & 0x7F == 0  # the first block is STREAMINFO
    return int.from_bytes(head[18:26], "big") & (2**36 - 1)


FOUR_HOURS_AND_FIVE_SECONDS = 4 * 3600 + 5


@pytest.fixture(scope="module")
def four_hours_flac(tmp_path_factory) -> Path:
    path = silence_flac(tmp_path_factory.mktemp("long") / "four-hours.flac", FOUR_HOURS_AND_FIVE_SECONDS)
    assert flac_total_samples(path) == FOUR_HOURS_AND_FIVE_SECONDS * 8000
    return path


@pytest.fixture(scope="module")
def four_hours_streamed_flac(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("long") / "four-hours-streamed.flac"
    silence_flac(path, FOUR_HOURS_AND_FIVE_SECONDS, streamed=True)
    assert flac_total_samples(path) == 0
    return path


# --- helpers ----------------------------------------------------------------------------


def start(transcribe, name: str, uri: str, **members) -> None:
    transcribe.start_transcription_job(
        TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": uri}, **members
    )


def assert_failed(job: dict, reason: str) -> None:
    assert job["TranscriptionJobStatus"] == "FAILED", job
    assert job["FailureReason"] == reason
    assert "TranscriptFileUri" not in job.get("Transcript", {})


def assert_completed(job: dict) -> None:
    assert job["TranscriptionJobStatus"] == "COMPLETED", job
    assert "FailureReason" not in job
    assert job["Transcript"]["TranscriptFileUri"]


# --- the media is not there -------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "s3://media/{name}/never-uploaded.wav",
        "s3://no-such-bucket-{hex}/jfk.flac",
    ],
    ids=["missing-key", "missing-bucket"],
)
def test_media_that_does_not_exist(transcribe, media_bucket, job_name, uri):
    start(transcribe, job_name, uri.format(name=job_name, hex=uuid.uuid4().hex[:12]))

    assert_failed(wait_for_job(transcribe, job_name), NO_SUCH_OBJECT)


def test_media_uri_without_a_key_is_refused_at_start(transcribe, media_bucket, job_name):
    with pytest.raises(transcribe.exceptions.BadRequestException):
        start(transcribe, job_name, "s3://media")

    with pytest.raises(transcribe.exceptions.BadRequestException):  # no job was made
        transcribe.get_transcription_job(TranscriptionJobName=job_name)


# --- the media is not something AWS transcribes ------------------------------------------


@pytest.mark.parametrize(
    "make, reason",
    [
        pytest.param(empty_file, EMPTY_FILE, id="empty"),
        pytest.param(random_bytes_wav, CORRUPT_FILE, id="random-bytes"),
        pytest.param(wav_header_only, CORRUPT_FILE, id="wav-header-only"),
        # FFmpeg decodes the 28 samples (1.75 ms) that survive the cut, as it decodes any
        # file truncated part-way up to the damage: what is left is too short.
        pytest.param(wav_first_100_bytes, TOO_SHORT, id="wav-first-100-bytes"),
        pytest.param(aiff_file, unsupported_format("aiff files aren't supported"), id="aiff"),
        pytest.param(text_file, CORRUPT_FILE, id="text"),
        pytest.param(speech_0_3_s, TOO_SHORT, id="speech-0.3s"),
        pytest.param(speech_6000_hz, INVALID_SAMPLE_RATE, id="6000hz"),
    ],
)
def test_media_that_fails(transcribe, upload, job_name, tmp_path, make, reason):
    path = make(tmp_path)
    start(transcribe, job_name, upload(path, key=f"{job_name}/{path.name}"))

    assert_failed(wait_for_job(transcribe, job_name), reason)


def test_longer_than_four_hours(transcribe, upload, job_name, four_hours_flac):
    """Fails from the file's header: decoding 4 hours and recognising them would take minutes
    (about 85 s on a 2-core machine), so a job that ends within the polling timeout did neither."""
    start(transcribe, job_name, upload(four_hours_flac, key=f"{job_name}/four-hours.flac"))

    job = wait_for_job(transcribe, job_name, timeout=60)
    assert_failed(job, TOO_LONG)
    assert job["FailureReason"] == AWS_TOO_LONG


def test_longer_than_four_hours_without_a_duration_in_the_header(
    tmp_path, job_name, four_hours_streamed_flac
):
    """A streamed FLAC (STREAMINFO total samples 0) states no duration, so only decoding shows
    it lasts 4 h 0 min 5 s; it must still fail TOO_LONG, not be transcribed.

    Own emulator: while the limit is not enforced after decoding, the job keeps its only
    worker busy for over a minute, which must not hold up the other tests.
    """
    own = EmulatorProcess(tmp_path / "data").start()
    try:
        transcribe, s3 = own.transcribe(), own.s3()
        s3.create_bucket(Bucket="media")
        s3.upload_file(str(four_hours_streamed_flac), "media", "four-hours-streamed.flac")
        start(transcribe, job_name, "s3://media/four-hours-streamed.flac")

        assert_failed(wait_for_job(transcribe, job_name, timeout=60), TOO_LONG)
    finally:
        own.stop()


# --- what the request declares does not match the media ---------------------------------


@pytest.mark.parametrize(
    "item, key, members, reason",
    [
        ("jfk", "jfk.flac", {"MediaFormat": "mp3"}, FORMAT_MISMATCH),
        ("an4_10001-90210-01803", "an4.m4a", {"MediaFormat": "m4a"}, None),
        ("an4_10001-90210-01803", "an4.m4a", {"MediaFormat": "mp4"}, None),
        ("jfk", "jfk.flac", {"MediaSampleRateHertz": 16000}, SAMPLE_RATE_MISMATCH),
        ("jfk", "jfk.flac", {"MediaSampleRateHertz": 44100}, None),
    ],
    ids=["flac-as-mp3", "m4a-as-m4a", "m4a-as-mp4", "44100-as-16000", "44100-as-44100"],
)
def test_declared_media_format_and_rate(transcribe, upload, job_name, item, key, members, reason):
    start(transcribe, job_name, upload(item, key=f"{job_name}/{key}"), **members)

    job = wait_for_job(transcribe, job_name)
    if reason:
        assert_failed(job, reason)
    else:
        assert_completed(job)
        for member, value in members.items():
            assert job[member] == value


# --- where the transcript would go does not exist ----------------------------------------


def test_output_bucket_that_does_not_exist(transcribe, upload, job_name):
    uri = upload("ls_61-70968-0000", key=f"{job_name}/ls.flac")
    start(transcribe, job_name, uri, OutputBucketName="no-such-bucket-xyz")

    assert_failed(wait_for_job(transcribe, job_name), NO_OUTPUT_BUCKET.format(bucket="no-such-bucket-xyz"))


# --- https media URIs name objects on the emulator's S3 ---------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "https://s3.us-east-1.amazonaws.com/media/{key}",
        "https://media.s3.us-east-1.amazonaws.com/{key}",
    ],
    ids=["path-style", "virtual-hosted"],
)
def test_https_media_uri(transcribe, upload, job_name, template):
    key = f"{job_name}/ls.flac"
    upload("ls_61-70968-0000", key=key)
    start(transcribe, job_name, template.format(key=key))

    assert_completed(wait_for_job(transcribe, job_name))


# --- larger than the size limit ----------------------------------------------------------


def test_larger_than_the_size_limit(tmp_path, job_name):
    """AWS's limit is 2 GB: a 2 GB upload is out of reach in CI, so this runs a second
    emulator with the limit lowered to 100,000 bytes (TRANSCRIBE_EMULATOR_MAX_MEDIA_BYTES)
    and gives it jfk.flac (1.15 MB); ls_61-70968-0000.flac (97 KB) still fits."""
    small = EmulatorProcess(tmp_path / "data", env={"TRANSCRIBE_EMULATOR_MAX_MEDIA_BYTES": "100000"})
    small.start()
    try:
        transcribe, s3 = small.transcribe(), small.s3()
        s3.create_bucket(Bucket="media")
        too_big, fits = audio_path("jfk"), audio_path("ls_61-70968-0000")
        assert too_big.stat().st_size > 100_000 >= fits.stat().st_size
        s3.upload_file(str(too_big), "media", "jfk.flac")
        s3.upload_file(str(fits), "media", "ls.flac")

        start(transcribe, job_name, "s3://media/jfk.flac")
        assert_failed(wait_for_job(transcribe, job_name), TOO_LARGE)

        start(transcribe, f"{job_name}-fits", "s3://media/ls.flac")
        assert_completed(wait_for_job(transcribe, f"{job_name}-fits"))
    finally:
        small.stop()


# --- afterwards -------------------------------------------------------------------------


def test_server_still_transcribes_after_the_failures(emulator, transcribe, upload, job_name):
    start(transcribe, job_name, upload("jfk", key=f"{job_name}/jfk.flac"))

    assert_completed(wait_for_job(transcribe, job_name))
    assert emulator.proc.poll() is None
