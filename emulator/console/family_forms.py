"""Forms of the Call Analytics, HealthScribe and "Transcribe a file now" pages -> request members.

Pure functions over a Form (`{field name: [values]}`, see emulator.console.forms, whose
helpers and conventions these share: a field named by its member path carries that member,
lower-case fields are the console's own switches, an empty field is an absent member, a
number that does not parse is sent as typed so the API's own error is what the user sees).
Shapes: botocore's `StartCallAnalyticsJobRequest`, `CreateCallAnalyticsCategoryRequest`
(`Rule`: TranscriptFilter, NonTalkTimeFilter, InterruptionFilter, SentimentFilter),
`StartMedicalScribeJobRequest` and `TranscribeAudioRequest`.
"""

from __future__ import annotations

from emulator.console.forms import Form, checked, lines, number, put, put_text, value, values

CALL_ANALYTICS_FIELDS = (
    "CallAnalyticsJobName",
    "Media.MediaFileUri",
    "OutputLocation",
    "DataAccessRoleArn",
    "channel_mode",
    "agent_channel",
    "ChannelDefinitions",
    "language_mode",
    "language",
    "Settings.LanguageOptions",
    "Settings.VocabularyName",
    "Settings.VocabularyFilterName",
    "Settings.VocabularyFilterMethod",
    "Settings.LanguageModelName",
    "Settings.ContentRedaction",
    "Settings.ContentRedaction.RedactionOutput",
    "Settings.ContentRedaction.PiiEntityTypes",
    "Settings.Summarization",
)
MEDICAL_SCRIBE_FIELDS = (
    "MedicalScribeJobName",
    "Media.MediaFileUri",
    "OutputBucketName",
    "DataAccessRoleArn",
    "audio_mode",
    "clinician_channel",
    "ChannelDefinitions",
    "Settings.MaxSpeakerLabels",
    "Settings.ClinicalNoteGenerationSettings.NoteTemplate",
    "Settings.VocabularyName",
    "Settings.VocabularyFilterName",
    "Settings.VocabularyFilterMethod",
)
TRANSCRIBE_AUDIO_FIELDS = (
    "media_source",
    "Media.MediaBytes",
    "Media.MediaFileUri",
    "language_mode",
    "Language",
    "LanguageOptions",
    "ChannelIdentification",
    "ShowSpeakerLabels",
    "MaxSpeakerLabels",
    "ContentRedaction",
)
RULE_TYPES = ("TranscriptFilter", "NonTalkTimeFilter", "InterruptionFilter", "SentimentFilter")
RULE_SLOTS = 3  # rule rows on the Create category page (a category has 1 to 20 rules)
# The members each rule type has besides its time range (botocore's shapes).
_RULE_MEMBERS = {
    "TranscriptFilter": ("ParticipantRole", "Negate", "Targets"),
    "NonTalkTimeFilter": ("Threshold", "Negate"),
    "InterruptionFilter": ("ParticipantRole", "Threshold", "Negate"),
    "SentimentFilter": ("ParticipantRole", "Negate", "Sentiments"),
}
RANGE_MEMBERS = ("StartTime", "EndTime", "First", "Last")  # AbsoluteTimeRange's; RelativeTimeRange's are ...Percentage
_RELATIVE = {"StartTime": "StartPercentage", "EndTime": "EndPercentage", "First": "First", "Last": "Last"}


def _pair_channels(form: Form, switch: str, first_role: str, second_role: str) -> list[dict]:
    """ChannelDefinitions for two channels: `first_role` on the channel the `switch` field
    names (0 or 1), `second_role` on the other. A value that is not 0 or 1 goes as typed."""
    chosen = number(value(form, switch) or "0")
    other = 1 - chosen if chosen in (0, 1) else 0
    return [{"ChannelId": chosen, "ParticipantRole": first_role}, {"ChannelId": other, "ParticipantRole": second_role}]


def _redaction(form: Form, prefix: str) -> dict | None:
    if not checked(form, prefix):
        return None
    redaction = {"RedactionType": "PII", "RedactionOutput": value(form, f"{prefix}.RedactionOutput") or "redacted"}
    entity_types = values(form, f"{prefix}.PiiEntityTypes")
    if entity_types and "ALL" not in entity_types:
        redaction["PiiEntityTypes"] = entity_types
    return redaction


def _filter_settings(settings: dict, form: Form) -> None:
    for member in ("VocabularyName", "VocabularyFilterName"):
        if value(form, f"Settings.{member}"):
            settings[member] = value(form, f"Settings.{member}")
    if "VocabularyFilterName" in settings:
        settings["VocabularyFilterMethod"] = value(form, "Settings.VocabularyFilterMethod") or "mask"


def start_call_analytics_job(form: Form) -> dict:
    """StartCallAnalyticsJobRequest members.

    channel_mode: "channels" (ChannelDefinitions: AGENT on `agent_channel`, CUSTOMER on the
    other) or "mono" (none: roles by speaker, as AWS does for mono media).
    language_mode: "specific" (LanguageOptions = [the `language` chosen]: the API has no
    LanguageCode member for these jobs) or "identify" (LanguageOptions = the options chosen)."""
    params: dict = {}
    put_text(params, form, "CallAnalyticsJobName")
    uri = value(form, "Media.MediaFileUri")
    params["Media"] = {"MediaFileUri": uri} if uri else {}
    put_text(params, form, "OutputLocation")
    put_text(params, form, "DataAccessRoleArn")
    if (value(form, "channel_mode") or "channels") == "channels":
        params["ChannelDefinitions"] = _pair_channels(form, "agent_channel", "AGENT", "CUSTOMER")
    settings: dict = {}
    if value(form, "language_mode") == "identify":
        options = values(form, "Settings.LanguageOptions")
    else:
        options = values(form, "language")
    if options:
        settings["LanguageOptions"] = options
    _filter_settings(settings, form)
    if value(form, "Settings.LanguageModelName"):
        settings["LanguageModelName"] = value(form, "Settings.LanguageModelName")
    redaction = _redaction(form, "Settings.ContentRedaction")
    if redaction:
        settings["ContentRedaction"] = redaction
    if checked(form, "Settings.Summarization"):
        settings["Summarization"] = {"GenerateAbstractiveSummary": True}
    if settings:
        params["Settings"] = settings
    return params


def category_rule(form: Form, slot: int) -> dict | None:
    """One `Rule` from the fields `rule<slot>.*`; None when its type is left empty.

    rule<n>.type: a RULE_TYPES value; rule<n>.ParticipantRole, .Negate (checkbox),
    .Targets (one a line), .Threshold (ms), .Sentiments (checkboxes); rule<n>.range: ""
    (whole call), "AbsoluteTimeRange" (ms) or "RelativeTimeRange" (percent), with the
    values of rule<n>.StartTime / EndTime / First / Last (the relative range's
    StartPercentage / EndPercentage / First / Last)."""
    prefix = f"rule{slot}"
    kind = value(form, f"{prefix}.type")
    if not kind:
        return None
    body: dict = {}
    members = _RULE_MEMBERS.get(kind, ())
    if "TranscriptFilter" == kind:
        body["TranscriptFilterType"] = "EXACT"
    if "Targets" in members:
        body["Targets"] = lines(value(form, f"{prefix}.Targets"))
    if "Sentiments" in members:
        body["Sentiments"] = values(form, f"{prefix}.Sentiments")
    if "ParticipantRole" in members and value(form, f"{prefix}.ParticipantRole"):
        body["ParticipantRole"] = value(form, f"{prefix}.ParticipantRole")
    if "Threshold" in members and value(form, f"{prefix}.Threshold"):
        body["Threshold"] = number(value(form, f"{prefix}.Threshold"))
    if "Negate" in members and checked(form, f"{prefix}.Negate"):
        body["Negate"] = True
    span = value(form, f"{prefix}.range")
    if span in ("AbsoluteTimeRange", "RelativeTimeRange"):
        limits = {}
        for member in RANGE_MEMBERS:
            text = value(form, f"{prefix}.{member}")
            if text:
                limits[member if span == "AbsoluteTimeRange" else _RELATIVE[member]] = number(text)
        body[span] = limits
    return {kind: body}


def create_call_analytics_category(form: Form) -> dict:
    """CreateCallAnalyticsCategoryRequest members: CategoryName, InputType, and the rules of
    the filled rule rows (`category_rule`), in page order."""
    params: dict = {}
    put_text(params, form, "CategoryName")
    put_text(params, form, "InputType")
    params["Rules"] = [rule for rule in (category_rule(form, slot) for slot in range(1, RULE_SLOTS + 1)) if rule]
    return params


def start_medical_scribe_job(form: Form) -> dict:
    """StartMedicalScribeJobRequest members.

    audio_mode: "channels" (ChannelIdentification, CLINICIAN on `clinician_channel`, PATIENT
    on the other) or "speakers" (ShowSpeakerLabels with MaxSpeakerLabels)."""
    params: dict = {}
    for path in ("MedicalScribeJobName", "OutputBucketName", "DataAccessRoleArn"):
        put_text(params, form, path)
    uri = value(form, "Media.MediaFileUri")
    params["Media"] = {"MediaFileUri": uri} if uri else {}
    settings: dict = {}
    if (value(form, "audio_mode") or "channels") == "channels":
        settings["ChannelIdentification"] = True
        params["ChannelDefinitions"] = _pair_channels(form, "clinician_channel", "CLINICIAN", "PATIENT")
    else:
        settings["ShowSpeakerLabels"] = True
        if value(form, "Settings.MaxSpeakerLabels"):
            settings["MaxSpeakerLabels"] = number(value(form, "Settings.MaxSpeakerLabels"))
    _filter_settings(settings, form)
    template = value(form, "Settings.ClinicalNoteGenerationSettings.NoteTemplate")
    if template:
        settings["ClinicalNoteGenerationSettings"] = {"NoteTemplate": template}
    params["Settings"] = settings
    return params


def transcribe_audio(form: Form, media_bytes: str | None = None) -> dict:
    """TranscribeAudioRequest members. media_bytes: the uploaded file, base64 (awsJson's form
    of a blob, which the API's validation and the operation read), used when `media_source`
    is "upload"; else Media.MediaFileUri.
    language_mode: "specific" (Language) or "identify" (LanguageDetectionMode
    IDENTIFY_LANGUAGE with the LanguageOptions chosen)."""
    params: dict = {}
    if value(form, "media_source") == "upload":
        params["Media"] = {"MediaBytes": media_bytes} if media_bytes else {}
    else:
        uri = value(form, "Media.MediaFileUri")
        params["Media"] = {"MediaFileUri": uri} if uri else {}
    if value(form, "language_mode") == "identify":
        params["LanguageDetectionMode"] = "IDENTIFY_LANGUAGE"
        options = values(form, "LanguageOptions")
        if options:
            params["LanguageOptions"] = options
    else:
        put_text(params, form, "Language")
    if checked(form, "ChannelIdentification"):
        params["ChannelIdentification"] = True
    if checked(form, "ShowSpeakerLabels"):
        params["ShowSpeakerLabels"] = True
        if value(form, "MaxSpeakerLabels"):
            put(params, "MaxSpeakerLabels", number(value(form, "MaxSpeakerLabels")))
    redaction = _redaction(form, "ContentRedaction")
    if redaction:
        params["ContentRedaction"] = redaction
    return params
