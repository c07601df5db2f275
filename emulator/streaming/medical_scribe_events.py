"""The event stream of StartMedicalScribeStream: its input events in, `TranscriptEvent`s out.

Input (Smithy union `MedicalScribeInputStream`; each message `:message-type` event, inside a
signed envelope or bare): `ConfigurationEvent` (JSON `MedicalScribeConfigurationEvent`, first
and once), `AudioEvent` (payload: the audio bytes, `MedicalScribeAudioEvent.AudioChunk`),
`SessionControlEvent` (JSON `{"Type": "END_OF_SESSION"}`).

Output (union `MedicalScribeResultStream`): one `TranscriptEvent` message per result, JSON
`{"TranscriptSegment": {SegmentId, BeginAudioTime, EndAudioTime, Content, Items, IsPartial,
ChannelId?}}`; an Item is `{BeginAudioTime, EndAudioTime, Type: pronunciation | punctuation,
Confidence?, Content, VocabularyFilterMatch?}`. Times are seconds, as in HealthScribe's transcript
file (the API reference's member text says milliseconds: README "Differences from AWS").
ChannelId (ch_0, ch_1) only with ChannelDefinitions, as the member's documentation says; a
partial repeats the whole segment under its SegmentId until the final.
"""

from __future__ import annotations

import json

from emulator.aws.errors import BadRequestException, ValidationException
from emulator.aws.eventstream import Message, event
from emulator.service.stream_results import ResultItem, TranscriptResult

END_OF_SESSION = "END_OF_SESSION"  # MedicalScribeSessionControlEventType
# Emulator wording (AWS does not publish these).
UNEXPECTED_EVENT = (
    "The input stream carried an unexpected message ({}). "
    "Send ConfigurationEvent, AudioEvent and SessionControlEvent messages."
)
NOT_JSON = "The {event} payload is not a JSON object. Send the event as the SDK encodes it."


def input_event(message: Message) -> tuple[str, object]:
    """One decoded input message -> ("config", dict) | ("audio", bytes) | ("control", "END_OF_SESSION").
    Raises BadRequestException (an unexpected message, a payload that is not JSON) or
    ValidationException (an unknown session control type)."""
    kind = (message.headers.get(":message-type", "event"), message.event_type)
    if kind == ("event", "AudioEvent"):
        return "audio", message.payload
    if kind == ("event", "ConfigurationEvent"):
        return "config", _json(message, "ConfigurationEvent")
    if kind == ("event", "SessionControlEvent"):
        control = _json(message, "SessionControlEvent").get("Type")
        if control != END_OF_SESSION:
            shown = "null" if control is None else f"'{control}'"
            raise ValidationException([
                f"Value {shown} at 'type' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{END_OF_SESSION}]"
            ])
        return "control", control
    raise BadRequestException(UNEXPECTED_EVENT.format(f"{kind[0]}/{kind[1]}"))


def _json(message: Message, name: str) -> dict:
    try:
        value = json.loads(message.payload or b"{}")
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise BadRequestException(NOT_JSON.format(event=name))
    return value


def segment_events(results: list[TranscriptResult]) -> list[bytes]:
    """One encoded TranscriptEvent message per result, in order."""
    return [
        event("TranscriptEvent", json.dumps({"TranscriptSegment": segment_json(result)}).encode("utf-8"))
        for result in results
    ]


def segment_json(result: TranscriptResult) -> dict:
    """The `MedicalScribeTranscriptSegment` JSON object of a result."""
    alternative = result.alternatives[0] if result.alternatives else None
    out: dict = {
        "SegmentId": result.result_id,
        "BeginAudioTime": result.start_time,
        "EndAudioTime": result.end_time,
        "Content": alternative.transcript if alternative else "",
        "Items": [_item(i) for i in alternative.items] if alternative else [],
        "IsPartial": result.is_partial,
    }
    if result.channel_id is not None:
        out["ChannelId"] = result.channel_id
    return out


def _item(item: ResultItem) -> dict:
    out: dict = {"BeginAudioTime": item.start_time, "EndAudioTime": item.end_time, "Type": item.type}
    if item.confidence is not None:
        out["Confidence"] = item.confidence
    out["Content"] = item.content
    if item.vocabulary_filter_match:
        out["VocabularyFilterMatch"] = True
    return out
