"""Console forms -> API request members, and API errors -> the form fields they are about.

Pure functions. A form is `{field name: [values]}` (every value a browser posted for the
name, in order). Fields that carry a request member are named by its path in the request
(`TranscriptionJobName`, `Media.MediaFileUri`, `Settings.MaxSpeakerLabels`), so an error
that names a member (a validation path such as `settings.maxSpeakerLabels`, or a service
message that says "MaxSpeakerLabels") finds its field. Fields in lower case
(`language_mode`, `output_type`, `source`) are the console's own
switches: which members to send at all.

An empty field is an absent member (AWS answers "Member must not be null" for required
ones). Numbers that do not parse are sent as the text the user typed, so the API's own
deserialisation error ("STRING_VALUE cannot be converted to Integer") is what they see.
Source of member names and shapes: botocore's transcribe `service-2.json`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from emulator.aws.errors import AWSError, ValidationException

Form = Mapping[str, Sequence[str]]

# Step 1 and step 2 of Create job, in page order; members as StartTranscriptionJobRequest names them.
JOB_STEP1_FIELDS = (
    "TranscriptionJobName",
    "language_mode",
    "LanguageCode",
    "LanguageOptions",
    "Media.MediaFileUri",
    "output_type",
    "OutputBucketName",
    "OutputKey",
    "Tags",
)
JOB_STEP2_FIELDS = (
    "Settings.ShowSpeakerLabels",
    "Settings.MaxSpeakerLabels",
    "Settings.ChannelIdentification",
    "Settings.ShowAlternatives",
    "Settings.MaxAlternatives",
    "Settings.VocabularyName",
    "Settings.VocabularyFilterName",
    "Settings.VocabularyFilterMethod",
    "ModelSettings.LanguageModelName",
    "Subtitles.Formats",
    "Subtitles.OutputStartIndex",
    "ContentRedaction",
    "ContentRedaction.RedactionOutput",
    "ContentRedaction.PiiEntityTypes",
)
MEDICAL_JOB_FIELDS = (
    "MedicalTranscriptionJobName",
    "LanguageCode",
    "Media.MediaFileUri",
    "OutputBucketName",
    "OutputKey",
    "Specialty",
    "Type",
    "Settings.ShowSpeakerLabels",
    "Settings.MaxSpeakerLabels",
    "Settings.ChannelIdentification",
    "ContentIdentificationType",
)
VOCABULARY_FIELDS = ("VocabularyName", "LanguageCode", "source", "Phrases", "VocabularyFileUri")
VOCABULARY_FILTER_FIELDS = ("VocabularyFilterName", "LanguageCode", "source", "Words", "VocabularyFilterFileUri")
LANGUAGE_MODEL_FIELDS = (
    "ModelName",
    "LanguageCode",
    "BaseModelName",
    "InputDataConfig.S3Uri",
    "InputDataConfig.TuningDataS3Uri",
    "InputDataConfig.DataAccessRoleArn",
)


# --- reading a form -------------------------------------------------------------------------


def value(form: Form, name: str) -> str:
    """The first value posted for `name`, stripped; "" when absent."""
    values = form.get(name) or [""]
    return values[0].strip()


def values(form: Form, name: str) -> list[str]:
    """Every non-empty value posted for `name` (checkbox groups, multiple selects)."""
    return [v.strip() for v in form.get(name, []) if v.strip()]


def checked(form: Form, name: str) -> bool:
    return value(form, name) not in ("", "off", "false")


def lines(text: str) -> list[str]:
    """Non-empty lines of a textarea, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def number(text: str):
    """int for integral text, float for decimal text, else the text itself (the API then
    answers its SerializationException)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def put(params: dict, path: str, member_value) -> None:
    """Sets `params["A"]["B"] = member_value` for path "A.B", creating structures."""
    *parents, leaf = path.split(".")
    target = params
    for parent in parents:
        target = target.setdefault(parent, {})
    target[leaf] = member_value


def put_text(params: dict, form: Form, path: str) -> None:
    """Sets the member at `path` to the field of the same name, unless it is left empty."""
    text = value(form, path)
    if text:
        put(params, path, text)


def parse_tags(text: str) -> list[dict] | str:
    """`key=value` lines (value optional) -> AWS `Tags` list; the offending line (str) when
    a line has no key."""
    tags = []
    for line in lines(text):
        key, _, tag_value = line.partition("=")
        if not key.strip():
            return line
        tags.append({"Key": key.strip(), "Value": tag_value.strip()})
    return tags


# --- forms -> request members ---------------------------------------------------------------


def start_transcription_job(form: Form) -> dict:
    """StartTranscriptionJobRequest members from the two steps of Create job.

    language_mode: "specific" (LanguageCode), "identify" (IdentifyLanguage + LanguageOptions)
    or "identify-multiple" (IdentifyMultipleLanguages + LanguageOptions).
    output_type: "service" (no OutputBucketName) or "customer" (OutputBucketName, OutputKey).
    """
    params: dict = {}
    put_text(params, form, "TranscriptionJobName")
    mode = value(form, "language_mode") or "specific"
    if mode == "specific":
        put_text(params, form, "LanguageCode")
    else:
        params["IdentifyMultipleLanguages" if mode == "identify-multiple" else "IdentifyLanguage"] = True
        options = values(form, "LanguageOptions")
        if options:
            params["LanguageOptions"] = options
    uri = value(form, "Media.MediaFileUri")
    params["Media"] = {"MediaFileUri": uri} if uri else {}
    if value(form, "output_type") == "customer":
        put_text(params, form, "OutputBucketName")
        put_text(params, form, "OutputKey")
    tags = parse_tags(value(form, "Tags")) if value(form, "Tags") else []
    if tags:
        params["Tags"] = tags if isinstance(tags, list) else [{"Key": "", "Value": tags}]

    settings: dict = {}
    if checked(form, "Settings.ShowSpeakerLabels"):
        settings["ShowSpeakerLabels"] = True
        if value(form, "Settings.MaxSpeakerLabels"):
            settings["MaxSpeakerLabels"] = number(value(form, "Settings.MaxSpeakerLabels"))
    if checked(form, "Settings.ChannelIdentification"):
        settings["ChannelIdentification"] = True
    if checked(form, "Settings.ShowAlternatives"):
        settings["ShowAlternatives"] = True
        if value(form, "Settings.MaxAlternatives"):
            settings["MaxAlternatives"] = number(value(form, "Settings.MaxAlternatives"))
    if value(form, "Settings.VocabularyName"):
        settings["VocabularyName"] = value(form, "Settings.VocabularyName")
    if value(form, "Settings.VocabularyFilterName"):
        settings["VocabularyFilterName"] = value(form, "Settings.VocabularyFilterName")
        settings["VocabularyFilterMethod"] = value(form, "Settings.VocabularyFilterMethod") or "mask"
    if settings:
        params["Settings"] = settings
    if value(form, "ModelSettings.LanguageModelName"):
        params["ModelSettings"] = {"LanguageModelName": value(form, "ModelSettings.LanguageModelName")}
    formats = values(form, "Subtitles.Formats")
    if formats:
        params["Subtitles"] = {"Formats": formats}
        if value(form, "Subtitles.OutputStartIndex"):
            params["Subtitles"]["OutputStartIndex"] = number(value(form, "Subtitles.OutputStartIndex"))
    if checked(form, "ContentRedaction"):
        redaction = {"RedactionType": "PII", "RedactionOutput": value(form, "ContentRedaction.RedactionOutput") or "redacted"}
        entity_types = values(form, "ContentRedaction.PiiEntityTypes")
        if entity_types and "ALL" not in entity_types:
            redaction["PiiEntityTypes"] = entity_types
        params["ContentRedaction"] = redaction
    return params


def step1_request(form: Form) -> dict:
    """The members step 1 sets, for checking step 1 on its own (StartTranscriptionJob's
    model validation; the cross-member rules run at Create)."""
    return start_transcription_job({k: v for k, v in form.items() if k in JOB_STEP1_FIELDS})


def start_medical_transcription_job(form: Form) -> dict:
    """StartMedicalTranscriptionJobRequest members."""
    params: dict = {}
    for path in ("MedicalTranscriptionJobName", "LanguageCode", "OutputBucketName", "OutputKey", "Specialty", "Type"):
        put_text(params, form, path)
    uri = value(form, "Media.MediaFileUri")
    params["Media"] = {"MediaFileUri": uri} if uri else {}
    settings: dict = {}
    if checked(form, "Settings.ShowSpeakerLabels"):
        settings["ShowSpeakerLabels"] = True
        if value(form, "Settings.MaxSpeakerLabels"):
            settings["MaxSpeakerLabels"] = number(value(form, "Settings.MaxSpeakerLabels"))
    if checked(form, "Settings.ChannelIdentification"):
        settings["ChannelIdentification"] = True
    if settings:
        params["Settings"] = settings
    if checked(form, "ContentIdentificationType"):
        params["ContentIdentificationType"] = "PHI"
    return params


def create_vocabulary(form: Form) -> dict:
    """CreateVocabularyRequest: Phrases (one a line) or VocabularyFileUri, by `source`."""
    return _create_word_list(form, "VocabularyName", "Phrases", "VocabularyFileUri")


def create_vocabulary_filter(form: Form) -> dict:
    """CreateVocabularyFilterRequest: Words (one a line) or VocabularyFilterFileUri, by `source`."""
    return _create_word_list(form, "VocabularyFilterName", "Words", "VocabularyFilterFileUri")


def _create_word_list(form: Form, name_member: str, list_member: str, file_member: str) -> dict:
    """The name, LanguageCode, and the words: `file_member` when `source` is "file", else
    `list_member` from the text area of the same name (one a line; left out when empty)."""
    params: dict = {}
    put_text(params, form, name_member)
    put_text(params, form, "LanguageCode")
    if value(form, "source") == "file":
        put_text(params, form, file_member)
    else:
        entries = lines(value(form, list_member))
        if entries:
            params[list_member] = entries
    return params


def create_language_model(form: Form) -> dict:
    """CreateLanguageModelRequest members."""
    params: dict = {}
    for path in LANGUAGE_MODEL_FIELDS:
        put_text(params, form, path)
    return params


# --- errors -> fields -----------------------------------------------------------------------


@dataclass
class FieldErrors:
    """An AWSError spread over a form: `by_field` field -> messages, `general` the rest.
    `error` is the API's whole answer (code and message), shown above the form."""

    error: AWSError
    by_field: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def message(self) -> str:
        return self.error.message

    def add(self, name: str, message: str) -> None:
        messages = self.by_field.setdefault(name, [])
        if message not in messages:
            messages.append(message)


_VIOLATION_PATH = re.compile(r" at '([^']+)' failed to satisfy constraint")

# Service messages that name no member: what they are about. First match wins.
_ABOUT: tuple[tuple[re.Pattern, tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), fields)
    for pattern, fields in (
        (r"requested job name already exists|requested job couldn't be found",
         ("TranscriptionJobName", "MedicalTranscriptionJobName")),
        (r"vocabulary filter name already exists", ("VocabularyFilterName",)),
        (r"vocabulary name already exists", ("VocabularyName",)),
        (r"language model name already exists", ("ModelName",)),
        (r"vocabulary filter (\S+ )?(couldn't be found|isn't)|of the vocabulary filter ",
         ("Settings.VocabularyFilterName",)),
        (r"requested vocabulary (\S+ )?(couldn't be found|isn't)|of the vocabulary ", ("Settings.VocabularyName",)),
        (r"requested language model|of the language model ", ("ModelSettings.LanguageModelName",)),
        (r"doesn't point to an S3 object|S3 URI that you provided",
         ("Media.MediaFileUri", "VocabularyFileUri", "VocabularyFilterFileUri", "InputDataConfig.S3Uri")),
        (r"language code is missing|no speech model for language code", ("LanguageCode", "LanguageOptions")),
        (r"vocabulary (that you.re trying to create|doesn't contain)", ("Phrases", "VocabularyFileUri")),
        (r"vocabulary filter doesn't contain|filter file", ("Words", "VocabularyFilterFileUri")),
        (r"S3 bucket can't be accessed", ("OutputBucketName",)),
    )
)


def _lowered(path: str) -> str:
    return ".".join(part[:1].lower() + part[1:] for part in path.split("."))


def field_for_path(path: str, fields: Iterable[str]) -> str | None:
    """The form field of a validation path (`media.mediaFileUri`, `tags.1.member.key`): the
    field whose member path is the longest leading part of it."""
    by_lowered = {_lowered(name): name for name in fields}
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = by_lowered.get(".".join(parts[:end]))
        if found:
            return found
    return None


def fields_named_in(message: str, fields: Iterable[str]) -> list[str]:
    """Form fields a service message is about: by the known wordings above, else by the
    member names (the last part of a field's path) it mentions."""
    fields = list(fields)
    for pattern, about in _ABOUT:
        if pattern.search(message):
            found = [name for name in about if name in fields]
            if found:
                return found[:1]
    named = []
    for name in fields:
        leaf = name.rsplit(".", 1)[-1]
        if leaf[:1].isupper() and re.search(rf"\b{re.escape(leaf)}\b", message) and name not in named:
            named.append(name)
    return named


def field_errors(error: AWSError, fields: Sequence[str], form: Form | None = None) -> FieldErrors:
    """Spreads `error` over `fields`: each violation of a ValidationException beside the
    field its path names; a service error beside the fields it is about (of several, the
    ones left empty in `form`: "When you set ShowAlternatives to true, you must also include
    MaxAlternatives" is about the empty MaxAlternatives); the rest general."""
    result = FieldErrors(error)
    if isinstance(error, ValidationException):
        for violation in error.violations:
            match = _VIOLATION_PATH.search(violation)
            name = field_for_path(match.group(1), fields) if match else None
            if name:
                result.add(name, violation)
            else:
                result.general.append(violation)
        return result
    named = fields_named_in(error.message, fields)
    if form is not None and len(named) > 1:
        empty = [name for name in named if not value(form, name)]
        named = empty or named
    for name in named:
        result.add(name, error.message)
    if not named:
        result.general.append(error.message or error.code)
    return result


def form_dict(items: Iterable[tuple[str, object]]) -> dict[str, list[str]]:
    """A Starlette FormData's (name, value) pairs as a Form; uploads are left out."""
    form: dict[str, list[str]] = {}
    for name, item in items:
        if isinstance(item, str):
            form.setdefault(name, []).append(item)
    return form
