"""Settings of a streaming transcription: parse and validate the start parameters.

Input: a plain dict of the parameters keyed by their short names ("language-code",
"sample-rate", ...), which the transports read off the wire (digest §5.2, §5.8). Output: a frozen `StreamSettings`, or an AWS error
raised before the stream starts.

Sources: the Smithy model of transcribe-streaming (`StartStreamTranscriptionRequest`,
`StartMedicalStreamTranscriptionRequest`, as summarised in digest §5.2). botocore ships no
transcribe-streaming model, so constraints shared with the batch API are read from
botocore's `transcribe/2017-10-26/service-2.json` (LanguageCode, MediaSampleRateHertz,
VocabularyName, VocabularyFilterName, VocabularyFilterMethod, ModelName, Type) and only the
streaming-only shapes are written here, each with its model name: MediaEncoding,
PartialResultsStability, Specialty (streaming), ContentIdentificationType,
ContentRedactionType, PiiEntityTypes, LanguageOptions, SessionId, NumberOfChannels.
Known deviation: the batch LanguageCode enum of current botocore is used for both APIs (the
streaming enum is a subset of it).

Validation messages follow AWS's generic wording with lowerCamelCase member names
("1 validation error detected: Value 'xx' at 'languageCode' failed to satisfy constraint:
Member must satisfy enum value set: [...]", recorded from the streaming API in
awslabs/amazon-transcribe-streaming-sdk issue 40). Booleans are read case-insensitively
(amazon-transcribe sends Python's "True"); "channel-identification" is accepted as an alias
of "enable-channel-identification" (a docs example uses it).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from emulator.aws.errors import BadRequestException, ValidationException
from emulator.aws.model import shape

# Streaming-only enums of the transcribe-streaming Smithy model.
MEDIA_ENCODINGS = ("pcm", "ogg-opus", "flac")  # MediaEncoding (g711/g729 of newer models: not decoded here)
STABILITY_LEVELS = ("high", "medium", "low")  # PartialResultsStability
MEDICAL_SPECIALTIES = ("PRIMARYCARE", "CARDIOLOGY", "NEUROLOGY", "ONCOLOGY", "RADIOLOGY", "UROLOGY")  # Specialty
CONTENT_IDENTIFICATION_TYPES = ("PII",)  # ContentIdentificationType
MEDICAL_CONTENT_IDENTIFICATION_TYPES = ("PHI",)  # MedicalContentIdentificationType
CONTENT_REDACTION_TYPES = ("PII",)  # ContentRedactionType
# Streaming PiiEntityTypes: a string, 1-300 characters, pattern ^[A-Z_, ]+$; values (docs
# "Redacting or identifying PII in a real-time stream"): the batch types plus ALL.
STREAMING_PII_TYPES = (
    "BANK_ACCOUNT_NUMBER", "BANK_ROUTING", "CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY", "PIN", "EMAIL", "ADDRESS", "NAME", "PHONE", "SSN", "ALL",
)
_SESSION_ID = re.compile(r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$")

# Emulator wording (AWS's is not published) unless noted.
LANGUAGE_MISSING = (  # AWS wording (batch StartTranscriptionJob, recorded)
    "The language code is missing. Either add a language code or turn on language identification."
)
LANGUAGE_AND_IDENTIFY = (
    "You can't specify both a language code and language identification. "
    "Remove the language code or turn off language identification, then try your request again."
)
OPTIONS_MISSING = (
    "To use language identification, include at least two language codes in LanguageOptions, "
    "then try your request again."
)
OPTIONS_ONE_PER_LANGUAGE = (
    "LanguageOptions can include only one dialect per language. Remove the extra dialects and try your request again."
)
PREFERRED_NOT_IN_OPTIONS = "PreferredLanguage must be one of the LanguageOptions. Check the value and try again."
IDENTIFICATION_AND_REDACTION = (
    "You can't specify both ContentIdentificationType and ContentRedactionType. Remove one and try your request again."
)
PII_TYPES_ALONE = (
    "PiiEntityTypes requires ContentIdentificationType or ContentRedactionType. "
    "Add one of them and try your request again."
)
CHANNELS_REQUIRED = (
    "To use channel identification, set NumberOfChannels to 2 and EnableChannelIdentification to true, "
    "then try your request again."
)
STABILITY_ALONE = (
    "PartialResultsStability requires EnablePartialResultsStabilization to be true. "
    "Turn on partial results stabilization and try your request again."
)
PII_LANGUAGE = (
    "Content identification and redaction are available only for en-US in this emulator. "
    "Change the language code and try your request again."
)
UNSUPPORTED_LANGUAGE = "The emulator has no speech model for the language {code}. Use another language code."
BAD_BOOLEAN = "Value '{value}' at '{member}' failed to satisfy constraint: Member must be a boolean (true or false)"
BAD_INTEGER = "Value '{value}' at '{member}' failed to satisfy constraint: Member must be an integer"


def _batch_shape(name: str):
    return shape(name)


@dataclass(frozen=True)
class StreamSettings:
    """A validated start request. Member comments name the Smithy member; units in names."""

    medical: bool
    media_encoding: str  # MediaEncoding
    sample_rate: int  # MediaSampleRateHertz, Hz
    session_id: str  # SessionId (generated when absent)
    language_code: str | None = None  # LanguageCode; None with language identification
    identify_language: bool = False  # IdentifyLanguage (IdentifyMultipleLanguages is treated alike)
    identify_multiple_languages: bool = False
    language_options: tuple[str, ...] = ()  # LanguageOptions
    preferred_language: str | None = None  # PreferredLanguage
    vocabulary_name: str | None = None
    vocabulary_names: tuple[str, ...] = ()  # VocabularyNames (language identification)
    vocabulary_filter_name: str | None = None
    vocabulary_filter_names: tuple[str, ...] = ()
    vocabulary_filter_method: str = "mask"  # VocabularyFilterMethod (AWS default: mask)
    language_model_name: str | None = None
    show_speaker_label: bool = False
    enable_channel_identification: bool = False
    number_of_channels: int = 1
    enable_partial_results_stabilization: bool = False
    partial_results_stability: str | None = None  # high | medium | low when stabilization is on
    content_identification_type: str | None = None  # PII (PHI for medical)
    content_redaction_type: str | None = None
    pii_entity_types: tuple[str, ...] = ()  # empty: all
    specialty: str | None = None  # medical
    type: str | None = None  # medical: CONVERSATION | DICTATION
    echoed: tuple[tuple[str, str], ...] = field(default=())  # (short name, value) to echo back

    @property
    def channels(self) -> int:
        """Interleaved channels in the audio (2 only with channel identification)."""
        return self.number_of_channels if self.enable_channel_identification else 1


# --- parameter readers --------------------------------------------------------------------


def _member(short: str) -> str:
    """ "vocabulary-filter-name" -> "vocabularyFilterName" (AWS's validation path)."""
    head, *rest = short.split("-")
    return head + "".join(part.capitalize() for part in rest)


_MEMBER_NAMES = {
    "sample-rate": "mediaSampleRateHertz",
    "language-model-name": "languageModelName",
}


def member_name(short: str) -> str:
    return _MEMBER_NAMES.get(short, _member(short))


class _Reader:
    """Collects constraint violations the AWS way while reading parameters."""

    def __init__(self, parameters: dict[str, str]):
        self.parameters = {k.lower(): v for k, v in parameters.items()}
        if "channel-identification" in self.parameters:
            self.parameters.setdefault("enable-channel-identification", self.parameters["channel-identification"])
        self.violations: list[str] = []
        self.echoed: list[tuple[str, str]] = []

    def raw(self, short: str) -> str | None:
        value = self.parameters.get(short)
        return None if value is None else value.strip()

    def _fail(self, short: str, value: str | None, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.violations.append(f"Value {shown} at '{member_name(short)}' failed to satisfy constraint: {constraint}")

    def string(self, short: str, required: bool = False, shape: str | None = None, enum=None,
               min_len: int | None = None, max_len: int | None = None, pattern: str | None = None) -> str | None:
        value = self.raw(short)
        if value is None or value == "":
            if required:
                self._fail(short, None, "Member must not be null")
            return None
        if shape is not None:
            model = _batch_shape(shape)
            enum = enum or model.enum or None
            min_len = model.metadata.get("min", min_len)
            max_len = model.metadata.get("max", max_len)
            pattern = model.metadata.get("pattern", pattern)
        if enum is not None and value not in enum:
            self._fail(short, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
            return None
        if min_len is not None and len(value) < min_len:
            self._fail(short, value, f"Member must have length greater than or equal to {min_len}")
            return None
        if max_len is not None and len(value) > max_len:
            self._fail(short, value, f"Member must have length less than or equal to {max_len}")
            return None
        if pattern is not None and not re.match(pattern, value):
            self._fail(short, value, f"Member must satisfy regular expression pattern: {pattern}")
            return None
        self.echoed.append((short, value))
        return value

    def boolean(self, short: str) -> bool:
        value = self.raw(short)
        if value is None or value == "":
            return False
        lowered = value.lower()
        if lowered not in ("true", "false"):
            self.violations.append(BAD_BOOLEAN.format(value=value, member=member_name(short)))
            return False
        self.echoed.append((short, lowered))
        return lowered == "true"

    def integer(self, short: str, required: bool = False, minimum: int | None = None,
                maximum: int | None = None, shape: str | None = None) -> int | None:
        value = self.raw(short)
        if value is None or value == "":
            if required:
                self._fail(short, None, "Member must not be null")
            return None
        try:
            number = int(value)
        except ValueError:
            self.violations.append(BAD_INTEGER.format(value=value, member=member_name(short)))
            return None
        if shape is not None:
            metadata = _batch_shape(shape).metadata
            minimum = metadata.get("min", minimum)
            maximum = metadata.get("max", maximum)
        if minimum is not None and number < minimum:
            self._fail(short, value, f"Member must have value greater than or equal to {minimum}")
            return None
        if maximum is not None and number > maximum:
            self._fail(short, value, f"Member must have value less than or equal to {maximum}")
            return None
        self.echoed.append((short, str(number)))
        return number


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def parse_settings(parameters: dict[str, str], medical: bool, supported_language=None) -> StreamSettings:
    """Validate the start parameters (short names, any case) of a standard (`medical` False)
    or medical stream. `supported_language(code) -> bool` says whether the emulator has a
    model for an AWS language code (None: all). Raises ValidationException (constraint
    violations, AWS wording) or BadRequestException (inconsistent settings)."""
    read = _Reader(parameters)
    media_encoding = read.string("media-encoding", required=True, enum=MEDIA_ENCODINGS)
    sample_rate = read.integer("sample-rate", required=True, shape="MediaSampleRateHertz")
    session_id = read.string("session-id", min_len=36, max_len=36, pattern=_SESSION_ID.pattern)
    language_code = read.string("language-code", required=medical, shape="LanguageCode")
    vocabulary_name = read.string("vocabulary-name", shape="VocabularyName")
    show_speaker_label = read.boolean("show-speaker-label")
    channel_identification = read.boolean("enable-channel-identification")
    number_of_channels = read.integer("number-of-channels", minimum=2)
    if medical:
        specialty = read.string("specialty", required=True, enum=MEDICAL_SPECIALTIES)
        medical_type = read.string("type", required=True, shape="Type")
        identification = read.string("content-identification-type", enum=MEDICAL_CONTENT_IDENTIFICATION_TYPES)
        settings_extra: dict = dict(specialty=specialty, type=medical_type, content_identification_type=identification)
    else:
        settings_extra = _standard_settings(read)
    if read.violations:
        raise ValidationException(read.violations)

    if channel_identification and number_of_channels != 2:
        raise BadRequestException(CHANNELS_REQUIRED)
    identify = settings_extra.get("identify_language") or settings_extra.get("identify_multiple_languages")
    if not medical:
        _check_standard(language_code, identify, settings_extra)
    if language_code and supported_language and not supported_language(language_code):
        raise BadRequestException(UNSUPPORTED_LANGUAGE.format(code=language_code))
    for option in settings_extra.get("language_options", ()):
        if supported_language and not supported_language(option):
            raise BadRequestException(UNSUPPORTED_LANGUAGE.format(code=option))

    return StreamSettings(
        medical=medical,
        media_encoding=media_encoding,
        sample_rate=sample_rate,
        session_id=session_id or str(uuid.uuid4()),
        language_code=language_code,
        vocabulary_name=vocabulary_name,
        show_speaker_label=show_speaker_label,
        enable_channel_identification=channel_identification,
        number_of_channels=number_of_channels if channel_identification else 1,
        echoed=tuple(read.echoed),
        **settings_extra,
    )


def _standard_settings(read: _Reader) -> dict:
    out = dict(
        vocabulary_filter_name=read.string("vocabulary-filter-name", shape="VocabularyFilterName"),
        vocabulary_filter_method=read.string("vocabulary-filter-method", shape="VocabularyFilterMethod"),
        enable_partial_results_stabilization=read.boolean("enable-partial-results-stabilization"),
        partial_results_stability=read.string("partial-results-stability", enum=STABILITY_LEVELS),
        content_identification_type=read.string("content-identification-type", enum=CONTENT_IDENTIFICATION_TYPES),
        content_redaction_type=read.string("content-redaction-type", enum=CONTENT_REDACTION_TYPES),
        pii_entity_types=read.string("pii-entity-types", min_len=1, max_len=300, pattern=r"^[A-Z_, ]+$"),
        language_model_name=read.string("language-model-name", shape="ModelName"),
        identify_language=read.boolean("identify-language"),
        identify_multiple_languages=read.boolean("identify-multiple-languages"),
        language_options=read.string("language-options", min_len=1, max_len=200, pattern=r"^[a-zA-Z-,]+$"),
        preferred_language=read.string("preferred-language", shape="LanguageCode"),
        vocabulary_names=read.string("vocabulary-names", min_len=1, max_len=3000, pattern=r"^[a-zA-Z0-9,-._]+$"),
        vocabulary_filter_names=read.string(
            "vocabulary-filter-names", min_len=1, max_len=3000, pattern=r"^[a-zA-Z0-9,-._]+$"
        ),
    )
    types = _split(out["pii_entity_types"])
    unknown = [t for t in types if t not in STREAMING_PII_TYPES]
    if unknown:
        read._fail("pii-entity-types", out["pii_entity_types"],
                   f"Member must satisfy enum value set: [{', '.join(STREAMING_PII_TYPES)}]")
    out["pii_entity_types"] = () if "ALL" in types else types
    out["language_options"] = _split(out["language_options"])
    out["vocabulary_names"] = _split(out["vocabulary_names"])
    out["vocabulary_filter_names"] = _split(out["vocabulary_filter_names"])
    language_codes = _batch_shape("LanguageCode").enum
    bad_options = [o for o in out["language_options"] if o not in language_codes]
    if bad_options:
        read._fail("language-options", ",".join(out["language_options"]),
                   f"Member must satisfy enum value set: [{', '.join(language_codes)}]")
    if out["vocabulary_filter_method"] is None:
        out["vocabulary_filter_method"] = "mask"
    return out


def _check_standard(language_code: str | None, identify: bool, extra: dict) -> None:
    if not language_code and not identify:
        raise BadRequestException(LANGUAGE_MISSING)
    if language_code and identify:
        raise BadRequestException(LANGUAGE_AND_IDENTIFY)
    options = extra["language_options"]
    if identify:
        if len(options) < 2:
            raise BadRequestException(OPTIONS_MISSING)
        if len({o.split("-")[0] for o in options}) != len(options):
            raise BadRequestException(OPTIONS_ONE_PER_LANGUAGE)
        if extra["preferred_language"] and extra["preferred_language"] not in options:
            raise BadRequestException(PREFERRED_NOT_IN_OPTIONS)
    if extra["content_identification_type"] and extra["content_redaction_type"]:
        raise BadRequestException(IDENTIFICATION_AND_REDACTION)
    if extra["pii_entity_types"] and not (extra["content_identification_type"] or extra["content_redaction_type"]):
        raise BadRequestException(PII_TYPES_ALONE)
    if (extra["content_identification_type"] or extra["content_redaction_type"]) and (
        identify or (language_code or "").split("-")[0] != "en"
    ):
        raise BadRequestException(PII_LANGUAGE)
    if extra["partial_results_stability"] and not extra["enable_partial_results_stabilization"]:
        raise BadRequestException(STABILITY_ALONE)
    if extra["enable_partial_results_stabilization"] and not extra["partial_results_stability"]:
        extra["partial_results_stability"] = "high"

