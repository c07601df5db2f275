"""Typed stream results -> `TranscriptEvent` event-stream messages (both transports).

One message per result: `:message-type` event, `:event-type` TranscriptEvent, JSON payload
`{"Transcript": {"Results": [Result]}}` (digest §5.6; Smithy `TranscriptEvent` /
`MedicalTranscriptEvent`, whose union member is also named TranscriptEvent). Result =
{ResultId, StartTime, EndTime, IsPartial, Alternatives: [{Transcript, Items, Entities?}],
ChannelId?, LanguageCode?, LanguageIdentification?}; Item = {StartTime, EndTime, Type, Content,
VocabularyFilterMatch?, Speaker?, Confidence?, Stable?}; Entity = {StartTime, EndTime,
Category, Content, Type?, Confidence}. Members that are None are left out (the medical shapes
lack some); times are JSON numbers in seconds.
"""

from __future__ import annotations

import json

from emulator.aws.eventstream import event
from emulator.service.stream_results import ResultAlternative, ResultEntity, ResultItem, TranscriptResult


def transcript_events(results: list[TranscriptResult]) -> list[bytes]:
    """One encoded TranscriptEvent message per result, in order."""
    return [
        event("TranscriptEvent", json.dumps({"Transcript": {"Results": [result_json(result)]}}).encode("utf-8"))
        for result in results
    ]


def result_json(result: TranscriptResult) -> dict:
    """The `Result` / `MedicalResult` JSON object (key order as AWS sends it)."""
    out: dict = {
        "ResultId": result.result_id,
        "StartTime": result.start_time,
        "EndTime": result.end_time,
        "IsPartial": result.is_partial,
        "Alternatives": [_alternative(a) for a in result.alternatives],
    }
    _put(out, "ChannelId", result.channel_id)
    _put(out, "LanguageCode", result.language_code)
    if result.language_identification:
        out["LanguageIdentification"] = [
            {"LanguageCode": s.language_code, "Score": s.score} for s in result.language_identification
        ]
    return out


def _alternative(alternative: ResultAlternative) -> dict:
    out: dict = {"Transcript": alternative.transcript, "Items": [_item(i) for i in alternative.items]}
    if alternative.entities is not None:
        out["Entities"] = [_entity(e) for e in alternative.entities]
    return out


def _item(item: ResultItem) -> dict:
    out: dict = {"StartTime": item.start_time, "EndTime": item.end_time, "Type": item.type, "Content": item.content}
    _put(out, "VocabularyFilterMatch", item.vocabulary_filter_match)
    _put(out, "Speaker", item.speaker)
    _put(out, "Confidence", item.confidence)
    _put(out, "Stable", item.stable)
    return out


def _entity(entity: ResultEntity) -> dict:
    out: dict = {
        "StartTime": entity.start_time,
        "EndTime": entity.end_time,
        "Category": entity.category,
        "Content": entity.content,
    }
    _put(out, "Type", entity.type)
    out["Confidence"] = entity.confidence
    return out


def _put(out: dict, name: str, value) -> None:
    if value is not None:
        out[name] = value
