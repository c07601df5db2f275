"""`transcribe-emulator transcribe FILE...`: files transcribed on this machine, no server, no S3.

The same pipeline and output code as a transcription job: the file is decoded
(emulator.engine.media), becomes a JobPlan (language given or identified, channel
identification, speaker labels), runs through `TranscriptionPipeline.final_tokens`
(recognition and post-processing, as service/transcribe_audio.py uses it) and is rendered by
emulator.service.output (`render_job_results`, `wrap_transcript`: the transcript file a job
writes) or emulator.service.subtitles (`render_subtitles`: a job's .srt / .vtt files).

Output formats: `json` (the job's transcript file, `jobName` = the file's stem), `srt`, `vtt`,
`text` (the transcript line). Without --output-dir each result goes to stdout (json: one
document per line); with it, to `<dir>/<stem>.<format>` (text: `.txt`). A progress bar on
stderr (tqdm, a dependency of faster-whisper) follows recognition of files of PROGRESS_SECONDS
or more when stderr is a terminal.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.config import Settings
from emulator.engine.media import SAMPLE_RATE, MediaError, decode, decode_channels, probe
from emulator.engine.recognizer import ModelLoadOptions, Recognizer
from emulator.service.clock import aws_now
from emulator.service.output import render_job_results, wrap_transcript
from emulator.service.pipeline import JobFailed, JobRun, Limits, Media, TranscriptionPipeline
from emulator.service.plan import FIXED, IDENTIFY, JobPlan, LanguageChoice, LanguageResources, MediaRules, OutputPlan
from emulator.service.subtitles import render_subtitles
from emulator.storage.models import ModelStore

FORMATS = ("json", "srt", "vtt", "text")
PROGRESS_SECONDS = 60.0  # files at least this long show a progress bar


class OneShotError(Exception):
    """A file that cannot be transcribed: one line for the user."""


@dataclass(frozen=True)
class Request:
    """What to do with each file. language_code: a BCP-47 code, None to identify the language;
    max_speaker_labels: None for no speaker labels."""

    language_code: str | None = None
    channel_identification: bool = False
    max_speaker_labels: int | None = None
    output_format: str = "json"
    output_dir: Path | None = None


class _ProgressBar:
    """Stands in for JobProgress (emulator.service.progress): the pipeline reports fractions
    of the file done under a key; this draws them with tqdm."""

    def __init__(self, name: str, seconds: float):
        from tqdm import tqdm

        show = seconds >= PROGRESS_SECONDS
        self._bar = tqdm(total=100, desc=name, unit="%", file=sys.stderr, disable=None if show else True)

    def update(self, key, fraction: float) -> None:
        self._bar.update(max(0, round(fraction * 100) - self._bar.n))

    def close(self) -> None:
        self._bar.close()


class OneShot:
    """Transcribes files with one recognizer (models loaded once for all files)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.models = ModelStore(settings.effective_model_store_dir(), settings.effective_models_dir())
        self.recognizer = Recognizer(
            self.models.resolve,
            ModelLoadOptions(compute_type=settings.compute_type, cpu_threads=settings.effective_cpu_threads()),
        )

    def transcribe(self, path: Path, request: Request) -> str:
        """The rendered result of one file (OneShotError when it cannot be transcribed)."""
        media = self._media(path, request.channel_identification)
        choice = LanguageChoice(FIXED, request.language_code) if request.language_code else LanguageChoice(IDENTIFY)
        plan = JobPlan(
            language=choice,
            resources=LanguageResources(),
            language_resources=(),
            media=MediaRules(str(path), channel_identification=request.channel_identification),
            output=OutputPlan(self.settings.account_id),
            max_speaker_labels=request.max_speaker_labels,
        )
        seconds = len(media.mono) / SAMPLE_RATE
        progress = _ProgressBar(path.name, seconds)
        with tempfile.TemporaryDirectory(prefix="transcribe-") as scratch:
            pipeline = TranscriptionPipeline(
                None,  # no store: nothing is recorded
                None,  # no S3: the media is the file, the result goes to stdout or --output-dir
                self.recognizer,
                self.models,
                scratch_dir=Path(scratch),
                limits=Limits(self.settings.max_media_bytes, self.settings.max_media_seconds),
                beam_size=self.settings.beam_size,
                clock=aws_now,
                progress=progress,
            )
            try:
                run = JobRun(plan, time.monotonic(), seconds)
                language, tokens, _ = pipeline.final_tokens(self.settings.region, path.name, run, media)
            except JobFailed as e:
                raise OneShotError(f"{path}: {e}") from None
            finally:
                progress.close()
        channels = media.channels.shape[0] if media.channels is not None else None
        rendered = render_job_results(tokens, channels, speakers=bool(request.max_speaker_labels))
        results = {**language.results_members, **rendered}  # as TranscriptionPipeline._results orders them
        return render(results, request.output_format, job_name(path), self.settings.account_id)

    @staticmethod
    def _media(path: Path, per_channel: bool) -> Media:
        try:
            info = probe(path)
            channels = decode_channels(path) if per_channel else decode(path)[np.newaxis, :]
        except MediaError as e:
            raise OneShotError(f"{path}: not a media file this emulator decodes ({e.problem.value})") from None
        except OSError as e:
            raise OneShotError(f"{path}: {e.strerror or e}") from None
        mono = channels.mean(axis=0) if channels.shape[0] > 1 else channels[0]
        return Media(info, path.name, {}, channels if per_channel else None, mono.astype(np.float32))


def render(results: dict, output_format: str, name: str, account_id: str) -> str:
    """A job's `results` as the file of `output_format` (see the module docstring)."""
    if output_format == "json":
        return json.dumps(wrap_transcript(name, account_id, results), ensure_ascii=False)
    if output_format == "text":
        return results["transcripts"][0]["transcript"] if results.get("transcripts") else ""
    return render_subtitles(results, output_format)


def job_name(path: Path) -> str:
    """The file's stem as a valid job name (TranscriptionJobName's pattern `^[0-9a-zA-Z._-]+`)."""
    return re.sub(r"[^0-9a-zA-Z._-]", "-", path.stem)[:200] or "transcript"


def run(paths: list[Path], request: Request, settings: Settings) -> int:
    """Transcribes each file in turn; returns the exit status (1 if any file failed)."""
    oneshot = OneShot(settings)
    status = 0
    if request.output_dir:
        request.output_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        try:
            text = oneshot.transcribe(path, request)
        except OneShotError as e:
            print(f"transcribe-emulator: error: {e}", file=sys.stderr)
            status = 1
            continue
        if request.output_dir:
            suffix = "txt" if request.output_format == "text" else request.output_format
            (request.output_dir / f"{path.stem}.{suffix}").write_text(text if text.endswith("\n") else text + "\n")
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()
    return status
