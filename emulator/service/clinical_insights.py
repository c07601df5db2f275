"""`Conversation.ClinicalInsights` of a HealthScribe transcript file: the clinical entities of
the transcript segments.

Shape (AWS developer guide, "Starting an AWS HealthScribe transcription job",
starting-health-scribe-job.html, its transcript example; the insight types of "AWS HealthScribe
Transcript file", health-scribe-transcript.html):
`[{"Attributes": [{"AttributeId", "Spans": [Span], "Type"}], "Category", "InsightId",
"InsightType": "ClinicalEntity", "Spans": [Span], "Type"}]` with Span `{"BeginCharacterOffset",
"Content", "EndCharacterOffset", "SegmentId"}`: offsets into the segment's `Content`, the end
offset the entity's last character (inclusive: AWS's example gives "pain" 12..15, "mammogram"
4..12). Keys in AWS's (alphabetical) order; InsightId and AttributeId are UUIDs. One insight per
entity mention, in segment order. The entities come from emulator.engine.clinical_entities (a
gazetteer with spaCy, not Amazon Comprehend Medical; README "Differences from AWS").
"""

from __future__ import annotations

import uuid

from emulator.engine.clinical_entities import Span, extract_many


def _span(span: Span, segment_id: str) -> dict:
    return {
        "BeginCharacterOffset": span.begin,
        "Content": span.text,
        "EndCharacterOffset": span.end - 1,  # inclusive, as AWS's example
        "SegmentId": segment_id,
    }


def clinical_insights(segments: list[dict]) -> list[dict]:
    """ClinicalInsights of TranscriptSegments (`{SegmentId, Content}`, in time order)."""
    found = extract_many([segment["Content"] for segment in segments])
    insights = []
    for segment, entities in zip(segments, found):
        for entity in entities:
            insights.append(
                {
                    "Attributes": [
                        {
                            "AttributeId": str(uuid.uuid4()),
                            "Spans": [_span(attribute.span, segment["SegmentId"])],
                            "Type": attribute.type,
                        }
                        for attribute in entity.attributes
                    ],
                    "Category": entity.category,
                    "InsightId": str(uuid.uuid4()),
                    "InsightType": "ClinicalEntity",
                    "Spans": [_span(entity.span, segment["SegmentId"])],
                    "Type": entity.type,
                }
            )
    return insights
