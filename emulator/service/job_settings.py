"""Which StartTranscriptionJob members go together, checked the way AWS documents them.

The requirements come from the botocore model's documentation of `Settings`,
`StartTranscriptionJobRequest`, `LanguageIdSettings` and `JobExecutionSettings`
(digest §3.1). AWS does not publish the messages of these BadRequestExceptions, except the
missing-language one (recorded); ours follow AWS's style and name the members involved.
Pure functions over the request members; they raise BadRequestException.
"""

from __future__ import annotations

import functools

from emulator.aws.errors import BadRequestException
from emulator.aws.model import enum
from emulator.service.toxicity import check_toxicity_request

LANGUAGE_MISSING = (
    "The language code is missing. Either add a language code or turn on language identification."
)
_LANGUAGE_CHOICES = ("LanguageCode", "IdentifyLanguage", "IdentifyMultipleLanguages")

# Settings whose work has not landed.
UNSUPPORTED = {
    "AlternativesCombined": "Settings.ShowAlternatives together with IdentifyMultipleLanguages",
}


def _unsupported(feature: str) -> BadRequestException:
    return BadRequestException(
        f"The emulator does not support {UNSUPPORTED[feature]}. See the README's differences from AWS."
    )


def check_language(params: dict) -> None:
    chosen = [m for m in _LANGUAGE_CHOICES if params.get(m)]
    if not chosen:
        raise BadRequestException(LANGUAGE_MISSING)
    if len(chosen) > 1:
        raise BadRequestException(
            f"You specified {' and '.join(chosen)}. Use only one of LanguageCode, IdentifyLanguage or "
            "IdentifyMultipleLanguages and try your request again."
        )
    identifying = chosen[0] != "LanguageCode"
    options = params.get("LanguageOptions")
    if options is not None:
        if not identifying:
            raise BadRequestException(
                "LanguageOptions can only be used with IdentifyLanguage or IdentifyMultipleLanguages. "
                "Turn on language identification or remove LanguageOptions and try your request again."
            )
        if len(set(options)) < 2:
            raise BadRequestException(
                "LanguageOptions must contain at least two different language codes. "
                "Add language codes and try your request again."
            )
    id_settings = params.get("LanguageIdSettings")
    if id_settings is not None:
        if not identifying:
            raise BadRequestException(
                "LanguageIdSettings can only be used with IdentifyLanguage or IdentifyMultipleLanguages."
            )
        if not options or not set(id_settings) <= set(options):
            raise BadRequestException(
                "Each language code in LanguageIdSettings must also be in LanguageOptions. "
                "Check your language codes and try your request again."
            )
        if params.get("IdentifyMultipleLanguages") and any("LanguageModelName" in v for v in id_settings.values()):
            raise BadRequestException(
                "LanguageModelName in LanguageIdSettings can't be used with IdentifyMultipleLanguages."
            )


def _pair(settings: dict, switch: str, companion: str) -> None:
    """`switch: true` needs `companion`; `companion` needs `switch: true` (botocore `Settings` docs)."""
    if settings.get(switch) and companion not in settings:
        raise BadRequestException(
            f"When you set {switch} to true, you must also include {companion}. "
            "Add it and try your request again."
        )
    if companion in settings and not settings.get(switch):
        raise BadRequestException(
            f"To use {companion}, you must also set {switch} to true. Set it and try your request again."
        )


def check_settings(settings: dict) -> None:
    _pair(settings, "ShowSpeakerLabels", "MaxSpeakerLabels")
    _pair(settings, "ShowAlternatives", "MaxAlternatives")
    has_name, has_method = "VocabularyFilterName" in settings, "VocabularyFilterMethod" in settings
    if has_name != has_method:
        missing = "VocabularyFilterMethod" if has_name else "VocabularyFilterName"
        raise BadRequestException(
            "VocabularyFilterName and VocabularyFilterMethod must be used together. "
            f"Add {missing} and try your request again."
        )


REDACTION_LANGUAGES = ("en-US",)  # AWS: en-US and es-US; the emulator's PII detector is English


def check_redaction(params: dict) -> None:
    """AWS documents batch PII redaction for en-US and es-US, without language identification."""
    if "ContentRedaction" not in params:
        return
    if params.get("IdentifyLanguage") or params.get("IdentifyMultipleLanguages"):
        raise BadRequestException(
            "ContentRedaction can't be used with language identification. "
            "Specify a LanguageCode and try your request again."
        )
    if params["LanguageCode"] not in REDACTION_LANGUAGES:
        raise BadRequestException(
            f"ContentRedaction isn't available for {params['LanguageCode']} in the emulator "
            f"(supported: {', '.join(REDACTION_LANGUAGES)}). See the README's differences from AWS."
        )


def check_start_request(params: dict) -> None:
    """All cross-member rules of StartTranscriptionJob, then what the emulator cannot do."""
    check_language(params)
    settings = params.get("Settings", {})
    check_settings(settings)
    check_redaction(params)
    check_toxicity_request(params)
    if params.get("ModelSettings", {}).get("LanguageModelName") and "LanguageCode" not in params:
        raise BadRequestException(
            "To use ModelSettings, specify a LanguageCode (with language identification, name the "
            "model in LanguageIdSettings instead) and try your request again."
        )
    if settings.get("ShowAlternatives") and params.get("IdentifyMultipleLanguages"):
        raise _unsupported("AlternativesCombined")


# Where a language has several AWS codes and no LanguageOptions say which, the one AWS
# lists first in its own examples.
_PREFERRED_REGIONAL = {"en": "en-US", "es": "es-US", "pt": "pt-BR", "fr": "fr-FR", "zh": "zh-CN", "de": "de-DE",
                       "ar": "ar-SA", "sw": "sw-KE", "ckb": "ckb-IQ"}


@functools.cache
def _model_language_codes() -> tuple[str, ...]:
    return enum("LanguageCode")


def aws_language_code(language: str, options: list[str] | None = None) -> str | None:
    """An identified language (Whisper/ISO 639-1 code, "de") as a Transcribe LanguageCode.

    With LanguageOptions, the first option of that language; without, AWS's usual regional
    code, else the first of botocore's `LanguageCode` enum; None if Transcribe has none.
    """
    codes = options or _model_language_codes()
    matching = [code for code in codes if code.split("-")[0] == language]
    if not matching:
        return None
    if not options and _PREFERRED_REGIONAL.get(language) in matching:
        return _PREFERRED_REGIONAL[language]
    return matching[0]
