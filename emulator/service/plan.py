"""A transcription job's plan: the Start request as typed, frozen settings, computed once.

`plan_job` turns the stored request of a StartTranscriptionJob or StartMedicalTranscriptionJob
(the job record's `doc` and `internal`, as emulator.service.jobs and emulator.service.medical
store them) into a `JobPlan`; the job keeps it as JSON in `internal["Plan"]` (`to_json`,
`from_json`) and the pipeline (emulator.service.pipeline) executes it. Jobs stored before plans
existed have none: `plan_of_record` derives theirs from the stored request, as Start would have.

Custom resources (vocabulary, vocabulary filter, language model) are held by name: the
pipeline reads them when the job runs, as it always has (a vocabulary updated between Start
and the run is used as updated), once per language and run. Settings merge as AWS documents
(botocore `Settings`, `ModelSettings`, `LanguageIdSettings`): `Settings` + `ModelSettings`
for every language, a language's `LanguageIdSettings` entry on top once it is identified.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from emulator.service import s3_uri

FIXED, IDENTIFY, IDENTIFY_MULTIPLE = "fixed", "identify", "identify-multiple"


@dataclass(frozen=True)
class LanguageChoice:
    """How the job's language is chosen. mode: FIXED (`code` is LanguageCode), IDENTIFY
    (IdentifyLanguage) or IDENTIFY_MULTIPLE (IdentifyMultipleLanguages); `options`:
    LanguageOptions (None: any language the model knows)."""

    mode: str
    code: str | None = None
    options: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LanguageResources:
    """The custom resources recognition and post-processing use in one language, by name.
    filter_method: VocabularyFilterMethod (remove | mask | tag), set whenever filter_name is."""

    vocabulary_name: str | None = None
    filter_name: str | None = None
    filter_method: str | None = None
    language_model_name: str | None = None


@dataclass(frozen=True)
class MediaRules:
    """Media.MediaFileUri and what the request declared of the media (None: not declared)."""

    uri: str
    format: str | None = None  # MediaFormat
    sample_rate: int | None = None  # MediaSampleRateHertz, Hz
    channel_identification: bool = False  # Settings.ChannelIdentification


@dataclass(frozen=True)
class OutputPlan:
    """Where the transcript goes: the customer's `bucket` and `key` (s3_uri.customer_output_key,
    or the medical default), or the service bucket when `bucket` is None (its key is chosen
    when the job runs). account_id: the caller's account, shown in the transcript file."""

    account_id: str
    bucket: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class RedactionPlan:
    """ContentRedaction: output "redacted" | "redacted_and_unredacted"; entity_types:
    PiiEntityTypes (None: all)."""

    output: str
    entity_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SubtitlesPlan:
    """Subtitles: Formats ("vtt", "srt") and OutputStartIndex (0 or 1)."""

    formats: tuple[str, ...]
    start_index: int = 0


@dataclass(frozen=True)
class JobPlan:
    """What a job does, decided at Start. Requested outputs: the transcript always; the
    redacted one with `redaction`; subtitle files with `subtitles`; `results.entities` with
    `identify_phi` (medical ContentIdentificationType=PHI); speaker labels when
    `max_speaker_labels` is set; n-best `segments` when `max_alternatives` is set;
    `results.toxicity_detection` with `toxicity` (ToxicityDetection)."""

    language: LanguageChoice
    resources: LanguageResources  # Settings + ModelSettings, for every language
    language_resources: tuple[tuple[str, LanguageResources], ...]  # LanguageIdSettings merged on top
    media: MediaRules
    output: OutputPlan
    max_speaker_labels: int | None = None
    max_alternatives: int | None = None
    redaction: RedactionPlan | None = None
    identify_phi: bool = False
    subtitles: SubtitlesPlan | None = None
    toxicity: bool = False

    def resources_for(self, language_code: str) -> LanguageResources:
        """The resources for a job in `language_code` (given or identified)."""
        return dict(self.language_resources).get(language_code, self.resources)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> JobPlan:
        language, redaction, subtitles = data["language"], data["redaction"], data["subtitles"]
        return cls(
            language=LanguageChoice(language["mode"], language["code"], _tuple(language["options"])),
            resources=LanguageResources(**data["resources"]),
            language_resources=tuple((code, LanguageResources(**r)) for code, r in data["language_resources"]),
            media=MediaRules(**data["media"]),
            output=OutputPlan(**data["output"]),
            max_speaker_labels=data["max_speaker_labels"],
            max_alternatives=data["max_alternatives"],
            redaction=RedactionPlan(redaction["output"], _tuple(redaction["entity_types"])) if redaction else None,
            identify_phi=data["identify_phi"],
            subtitles=SubtitlesPlan(tuple(subtitles["formats"]), subtitles["start_index"]) if subtitles else None,
            toxicity=data.get("toxicity", False),  # absent from plans stored before toxicity detection
        )


def plan_job(name: str, doc: dict, internal: dict) -> JobPlan:
    """The plan of a job as its record stores the request: `doc` (the job object, with
    `Settings` defaulted) and `internal` (OutputBucketName, OutputKey, AccountId)."""
    settings = doc["Settings"]
    default = _resources({**settings, **doc.get("ModelSettings", {})}, settings)
    per_language = tuple(
        (code, _resources({**settings, **doc.get("ModelSettings", {}), **entry}, settings))
        for code, entry in doc.get("LanguageIdSettings", {}).items()
    )
    redaction = doc.get("ContentRedaction")
    subtitles = doc.get("Subtitles")
    return JobPlan(
        language=_language(doc),
        resources=default,
        language_resources=per_language,
        media=MediaRules(
            doc["Media"]["MediaFileUri"],
            doc.get("MediaFormat"),
            doc.get("MediaSampleRateHertz"),
            settings.get("ChannelIdentification", False),
        ),
        output=_output(name, doc, internal),
        max_speaker_labels=settings["MaxSpeakerLabels"] if settings.get("ShowSpeakerLabels") else None,
        max_alternatives=settings["MaxAlternatives"] if settings.get("ShowAlternatives") else None,
        redaction=RedactionPlan(redaction["RedactionOutput"], _tuple(redaction.get("PiiEntityTypes"))) if redaction else None,
        identify_phi=doc.get("ContentIdentificationType") == "PHI",
        subtitles=SubtitlesPlan(tuple(subtitles.get("Formats", ())), subtitles.get("OutputStartIndex", 0)) if subtitles else None,
        toxicity=bool(doc.get("ToxicityDetection")),
    )


def plan_of_record(name: str, doc: dict, internal: dict) -> JobPlan:
    """The stored plan of a job, or for a job stored before plans existed the one its request gives."""
    if "Plan" in internal:
        return JobPlan.from_json(internal["Plan"])
    return plan_job(name, doc, internal)


def _tuple(values: list | None) -> tuple | None:
    return tuple(values) if values is not None else None


def _language(doc: dict) -> LanguageChoice:
    options = tuple(doc["LanguageOptions"]) if doc.get("LanguageOptions") else None
    if doc.get("LanguageCode") and not (doc.get("IdentifyLanguage") or doc.get("IdentifyMultipleLanguages")):
        return LanguageChoice(FIXED, doc["LanguageCode"])
    if doc.get("IdentifyMultipleLanguages"):
        return LanguageChoice(IDENTIFY_MULTIPLE, options=options)
    return LanguageChoice(IDENTIFY, options=options)


def _resources(merged: dict, settings: dict) -> LanguageResources:
    """A language's resources from its merged settings; a filter named without a method (in
    LanguageIdSettings) takes the job's VocabularyFilterMethod, else mask."""
    filter_name = merged.get("VocabularyFilterName")
    method = merged.get("VocabularyFilterMethod") or settings.get("VocabularyFilterMethod", "mask")
    return LanguageResources(
        vocabulary_name=merged.get("VocabularyName"),
        filter_name=filter_name,
        filter_method=method if filter_name else None,
        language_model_name=merged.get("LanguageModelName"),
    )


def _output(name: str, doc: dict, internal: dict) -> OutputPlan:
    bucket = internal.get("OutputBucketName")
    if not bucket:
        return OutputPlan(internal["AccountId"])
    if "MedicalTranscriptionJobName" in doc and not internal.get("OutputKey"):
        key = f"medical/{name}.json"  # Transcribe Medical's default (emulator.service.medical)
    else:
        key = s3_uri.customer_output_key(name, internal.get("OutputKey"))
    return OutputPlan(internal["AccountId"], bucket, key)
