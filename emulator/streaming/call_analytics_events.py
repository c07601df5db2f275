"""StartCallAnalyticsStreamTranscription on the wire: `UtteranceEvent` / `CategoryEvent`
messages, and the endpoints of the operation over HTTP/2 and WebSocket.

Paths: `POST /call-analytics-stream-transcription` (the JS SDK's REST binding; start
parameters in `x-amzn-transcribe-*` headers) and `GET /call-analytics-stream-transcription-websocket`
(presigned, parameters in the query, as AWS's WebSocket streaming). Both are the standard
transports (emulator.streaming.http2, emulator.streaming.websocket) with two changes: the
session sees each input event first (`input_hook`: the ConfigurationEvent must come first) and
results are rendered here.

Shapes (the JS SDK's client-transcribe-streaming schema, `CallAnalyticsTranscriptResultStream`;
AWS docs "Real-time Call Analytics output"): one event-stream message per result,
`:event-type` UtteranceEvent with JSON {UtteranceId, IsPartial, ParticipantRole,
BeginOffsetMillis, EndOffsetMillis, Transcript, Items: [{BeginOffsetMillis, EndOffsetMillis,
Type, Content, Confidence?, VocabularyFilterMatch?, Stable?}], Entities?: [{BeginOffsetMillis,
EndOffsetMillis, Category, Type, Content, Confidence}], Sentiment?, IssuesDetected?:
[{CharacterOffsets: {Begin, End}}], LanguageCode?, LanguageIdentification?: [{LanguageCode,
Score}]}, or `:event-type` CategoryEvent with {MatchedCategories: [name], MatchedDetails:
{phrase: {TimestampRanges: [{BeginOffsetMillis, EndOffsetMillis}]}}}. Times are integer
milliseconds from the start of the stream.
"""

from __future__ import annotations

import json

from emulator.aws.eventstream import event
from emulator.service.call_analytics_stream import CallAnalyticsStreamSession, CategoryMatch, Utterance
from emulator.service.stream_results import ResultEntity, ResultItem
from emulator.streaming.http2 import Http2StreamingEndpoint
from emulator.streaming.session_io import InputHook
from emulator.streaming.websocket import WebSocketStreamingEndpoint

HTTP2_PATH = "/call-analytics-stream-transcription"
WEBSOCKET_PATH = "/call-analytics-stream-transcription-websocket"


def call_analytics_events(results: list) -> list[bytes]:
    """One encoded UtteranceEvent / CategoryEvent message per result, in order."""
    out = []
    for result in results:
        if isinstance(result, CategoryMatch):
            out.append(event("CategoryEvent", _json(category_json(result))))
        else:
            out.append(event("UtteranceEvent", _json(utterance_json(result))))
    return out


def utterance_json(utterance: Utterance) -> dict:
    """The UtteranceEvent JSON object (members absent when None)."""
    out: dict = {
        "UtteranceId": utterance.utterance_id,
        "IsPartial": utterance.is_partial,
        "ParticipantRole": utterance.participant_role,
        "BeginOffsetMillis": _millis(utterance.begin),
        "EndOffsetMillis": _millis(utterance.end),
        "Transcript": utterance.transcript,
        "Items": [_item(item) for item in utterance.items],
    }
    if utterance.entities is not None:
        out["Entities"] = [_entity(entity) for entity in utterance.entities]
    if utterance.sentiment is not None:
        out["Sentiment"] = utterance.sentiment
    if utterance.issues_detected is not None:
        out["IssuesDetected"] = [
            {"CharacterOffsets": {"Begin": begin, "End": end}} for begin, end in utterance.issues_detected
        ]
    if utterance.language_code is not None:
        out["LanguageCode"] = utterance.language_code
    if utterance.language_identification:
        out["LanguageIdentification"] = [
            {"LanguageCode": s.language_code, "Score": s.score} for s in utterance.language_identification
        ]
    return out


def category_json(match: CategoryMatch) -> dict:
    """The CategoryEvent JSON object."""
    return {
        "MatchedCategories": list(match.matched_categories),
        "MatchedDetails": {
            phrase: {"TimestampRanges": [{"BeginOffsetMillis": b, "EndOffsetMillis": e} for b, e in ranges]}
            for phrase, ranges in match.matched_details
        },
    }


def _item(item: ResultItem) -> dict:
    out: dict = {
        "BeginOffsetMillis": _millis(item.start_time),
        "EndOffsetMillis": _millis(item.end_time),
        "Type": item.type,
        "Content": item.content,
    }
    if item.confidence is not None:
        out["Confidence"] = item.confidence
    if item.vocabulary_filter_match is not None:
        out["VocabularyFilterMatch"] = item.vocabulary_filter_match
    if item.stable is not None:
        out["Stable"] = item.stable
    return out


def _entity(entity: ResultEntity) -> dict:
    return {
        "BeginOffsetMillis": _millis(entity.start_time),
        "EndOffsetMillis": _millis(entity.end_time),
        "Category": entity.category,
        "Type": entity.type,
        "Content": entity.content,
        "Confidence": entity.confidence,
    }


def _millis(seconds: float) -> int:
    return int(round(seconds * 1000))


def _json(body: dict) -> bytes:
    return json.dumps(body).encode("utf-8")


def _configuration_hook(session: CallAnalyticsStreamSession) -> InputHook:
    return session.input_event


class CallAnalyticsHttp2Endpoint(Http2StreamingEndpoint):
    """`POST /call-analytics-stream-transcription`; constructed as Http2StreamingEndpoint with
    a CallAnalyticsStreamSessions as `sessions`."""

    render_events = staticmethod(call_analytics_events)
    input_hook = staticmethod(_configuration_hook)


class CallAnalyticsWebSocketEndpoint(WebSocketStreamingEndpoint):
    """`GET /call-analytics-stream-transcription-websocket`; constructed as
    WebSocketStreamingEndpoint with a CallAnalyticsStreamSessions as `sessions`."""

    render_events = staticmethod(call_analytics_events)
    input_hook = staticmethod(_configuration_hook)
