"""The medical job pipeline: the batch pipeline (emulator.service.pipeline) with the rules of
Amazon Transcribe Medical.

Differences, from the Medical guide ("Transcribing medical audio", "Data input and output")
and botocore's `StartMedicalTranscriptionJobRequest`:
* media: FLAC, MP3, MP4 or WAV only; WAV must be 16-bit linear PCM; a sample rate of
  16,000 Hz or more (`MedicalMediaSampleRateHertz` is 16000-48000). Other media ends FAILED.
* output: always the customer's bucket; without `OutputKey` the transcript is
  `medical/<job name>.json` (as moto and observed outputs have it: digest §3.2 [unverified];
  the job's plan holds it, emulator.service.plan).
* `ContentIdentificationType=PHI` adds `results.entities` (emulator.service.phi).
* vocabularies are medical vocabularies (the pipeline is built with that service).
Everything else (speaker labels, channels, alternatives, output shape) is the batch pipeline's.
"""

from __future__ import annotations

from emulator.engine.media import MediaInfo
from emulator.engine.pii import PiiModelMissing
from emulator.service.phi import phi_entities, render_entities
from emulator.service.pipeline import JobFailed, TranscriptionPipeline, check_media, unsupported_format
from emulator.service.plan import MediaRules

KIND = "medical-transcription-job"
MEDICAL_CONTAINERS = ("flac", "mp3", "mp4", "wav")
PCM_16_BIT = ("pcm_s16le", "pcm_s16be")
MIN_MEDICAL_SAMPLE_RATE = 16000  # Hz
# AWS's standard wording (pipeline.INVALID_SAMPLE_RATE) with the medical range.
INVALID_MEDICAL_SAMPLE_RATE = (
    "Invalid sample rate for audio file. The sample rate must be between 16,000 and 48,000 Hz."
)
NOT_16_BIT_PCM = unsupported_format("medical transcription needs WAV audio as 16-bit linear PCM")


class MedicalTranscriptionPipeline(TranscriptionPipeline):
    """Callable for the worker pool: `pipeline((region, job_name))` for medical jobs."""

    kind = KIND

    def _check_media(self, info: MediaInfo, key: str, declared: MediaRules) -> None:
        if info.container not in MEDICAL_CONTAINERS:
            raise JobFailed(unsupported_format(f"{info.container} files aren't supported for medical transcription"))
        if info.container == "wav" and info.codec not in PCM_16_BIT:
            raise JobFailed(NOT_16_BIT_PCM)
        if info.sample_rate < MIN_MEDICAL_SAMPLE_RATE:
            raise JobFailed(INVALID_MEDICAL_SAMPLE_RATE)
        check_media(info, key, declared, self.limits)

    def _results(self, run, language, media, tokens):
        results = super()._results(run, language, media, tokens)
        if not run.plan.identify_phi:
            return results
        try:
            entities = render_entities(phi_entities(tokens, self.pii_detector))
        except PiiModelMissing as e:
            raise JobFailed(f"Internal failure: {e}") from None
        out: dict = {}
        for key, value in results.items():
            out[key] = value
            if key == "transcripts":
                out["entities"] = entities
        return out
