"""Transcript file -> preview turns and timeline lanes (pure), on transcripts shaped as AWS writes them."""

from __future__ import annotations

import pytest

from emulator.console.preview import MalformedTranscript, build_preview, label_title, timestamp


def item(content, start=None, end=None, speaker=None, channel=None, confidence="0.9"):
    out = {"type": "punctuation" if start is None else "pronunciation",
           "alternatives": [{"confidence": confidence, "content": content}]}
    if start is not None:
        out.update(start_time=f"{start:.3f}", end_time=f"{end:.3f}")
    if speaker:
        out["speaker_label"] = speaker
    if channel:
        out["channel_label"] = channel
    return out


def transcript(items, **results):
    text = " ".join(i["alternatives"][0]["content"] for i in items)
    return {"jobName": "j", "accountId": "0", "status": "COMPLETED",
            "results": {"transcripts": [{"transcript": text}], "items": items, **results}}


def test_speaker_turns_and_lanes():
    items = [item("Hello", 0.1, 0.5, "spk_0"), item(",", speaker="spk_0"), item("there", 0.6, 0.9, "spk_0"),
             item("Hi", 1.2, 1.4, "spk_1"), item(".", speaker="spk_1"), item("Again", 4.0, 4.5, "spk_0")]
    preview = build_preview(transcript(items))
    assert preview.grouped_by == "speaker"
    assert [(t.label, t.text, t.start, t.end) for t in preview.turns] == [
        ("spk_0", "Hello, there", 0.1, 0.9), ("spk_1", "Hi.", 1.2, 1.4), ("spk_0", "Again", 4.0, 4.5)]
    assert [(lane.title, lane.spans) for lane in preview.lanes] == [
        ("Speaker 0", ((0.1, 0.9), (4.0, 4.5))), ("Speaker 1", ((1.2, 1.4),))]
    assert preview.duration == 4.5


def test_channel_turns_when_there_are_no_speakers():
    items = [item("left", 0.0, 0.4, channel="ch_0"), item("right", 0.2, 0.6, channel="ch_1"), item("left", 0.7, 0.9, channel="ch_0")]
    preview = build_preview(transcript(items))
    assert preview.grouped_by == "channel"
    assert [t.label for t in preview.turns] == ["ch_0", "ch_1", "ch_0"]
    assert [lane.title for lane in preview.lanes] == ["Channel 0", "Channel 1"]


def test_plain_transcripts_turn_by_audio_segment_with_one_speech_lane():
    items = [item("ask", 0.0, 0.3), item("not", 0.4, 0.6), item(",", None), item("ask", 8.0, 8.2), item(".", None)]
    segments = [{"id": 0, "transcript": "ask not,", "start_time": "0.0", "end_time": "0.6", "items": [0, 1, 2]},
                {"id": 1, "transcript": "ask.", "start_time": "8.0", "end_time": "8.2", "items": [3, 4]}]
    preview = build_preview(transcript(items, audio_segments=segments))
    assert preview.grouped_by == "segment"
    assert [(t.text, t.start) for t in preview.turns] == [("ask not,", 0.0), ("ask.", 8.0)]
    assert [(lane.kind, lane.spans) for lane in preview.lanes] == [("speech", ((0.0, 0.6), (8.0, 8.2)))]


def test_empty_and_redacted_transcripts():
    assert build_preview({"results": {"transcripts": [{"transcript": ""}], "items": []}}).turns == []
    redacted = item("[PII]", 1.0, 2.0)
    redacted["alternatives"][0]["redactions"] = [{"type": "NAME", "category": "PII", "confidence": "0.9"}]
    word = build_preview(transcript([redacted])).turns[0].words[0]
    assert word.redacted and word.content == "[PII]"


def test_labels_and_clock():
    assert (label_title("spk_3"), label_title("ch_0"), label_title("other")) == ("Speaker 3", "Channel 0", "other")
    assert (timestamp(5.9), timestamp(62), timestamp(3723)) == ("0:05", "1:02", "1:02:03")


@pytest.mark.parametrize(
    "document, where",
    [
        ([], "The transcript"),
        ({"jobName": "j"}, "results"),
        ({"results": "x"}, "results"),
        ({"results": {"items": "abc"}}, "results.items"),
        ({"results": {"items": [7]}}, "results.items[0]"),
        ({"results": {"items": [{"alternatives": {"content": "a"}}]}}, "results.items[0].alternatives"),
        ({"results": {"items": [{"start_time": "1.0", "end_time": "x", "alternatives": [{"content": "a"}]}]}}, "results.items[0].end_time"),
        ({"results": {"items": [{"start_time": float("inf"), "alternatives": [{"content": "a"}]}]}}, "results.items[0].start_time"),
        ({"results": {"items": [{"start_time": float("nan"), "alternatives": [{"content": "a"}]}]}}, "results.items[0].start_time"),
        ({"results": {"items": [{"start_time": 10**400, "alternatives": [{"content": "a"}]}]}}, "results.items[0].start_time"),
        ({"results": {"items": [{"start_time": True, "alternatives": [{"content": "a"}]}]}}, "results.items[0].start_time"),
        ({"results": {"items": [item("a", 0, 1) | {"speaker_label": ["spk_0"]}]}}, "results.items[0].speaker_label"),
        ({"results": {"items": [item("a", 0, 1)], "transcripts": [3]}}, "results.transcripts[0]"),
        ({"results": {"items": [item("a", 0, 1)], "audio_segments": [{"items": [None]}]}}, "results.audio_segments[0].items"),
    ],
)
def test_malformed_transcripts_raise_with_the_member_at_fault(document, where):
    with pytest.raises(MalformedTranscript) as raised:
        build_preview(document)
    assert str(raised.value).startswith(where), raised.value


def test_numbers_as_numbers_and_a_missing_end_are_accepted():
    words = build_preview({"results": {"items": [
        {"start_time": 1, "alternatives": [{"content": "one", "confidence": 1}]},
        {"start_time": "2.5", "end_time": 3.0, "alternatives": [{"content": "two"}]},
    ]}}).turns[0].words
    assert [(w.start, w.end, w.confidence) for w in words] == [(1.0, 1.0, 1.0), (2.5, 3.0, None)]
