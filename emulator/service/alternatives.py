"""Rendering n-best hypotheses as Transcribe's `results.segments` (ShowAlternatives). Pure.

Shape (digest §4 and §4.4; AWS Developer Guide, "Alternative transcriptions"):
`"segments": [{"start_time", "end_time", "alternatives": [{"transcript", "items": [{"start_time",
"end_time", "confidence", "content", "type"}]}]}]` - alternatives by descending confidence,
the first one the transcript itself; items flat (no nested `alternatives`); times and
confidences strings; punctuation items without times, confidence "0.0".

The first alternative of each segment must read as the transcript's `items` do, after
DisplayAs and vocabulary filtering changed them: `with_main_items` rebuilds it from those
items, and `add_segments` does everything for a job. Run it after filtering and before
redaction (which redacts each alternative on its own).
"""

from __future__ import annotations

from collections.abc import Sequence

from emulator.engine.alternatives import Hypothesis, SegmentAlternatives
from emulator.service.filtering import join_items
from emulator.service.output import channel_label, format_confidence, format_seconds, tokens_for_segment
from emulator.service.segmentation import end_failed_alignments, snap_to_speech
from emulator.service.tokens import Token, join_tokens


def render_segments(
    alternatives: list[SegmentAlternatives], speech: Sequence[tuple[float, float]] | None = None
) -> list[dict]:
    """`results.segments` of the hypotheses as recognised (before any filtering).

    A segment's times are its first alternative's first and last word; segments whose first
    alternative has no word (punctuation only) are left out, as `audio_segments` leaves them;
    other alternatives without a word are dropped. speech: the VAD's speech regions (seconds,
    sorted) the transcript's word times were cut to (segmentation.snap_to_speech): the
    hypotheses' word times are cut to them too, after a word timed over the words after it
    is ended where they start (segmentation.end_failed_alignments), as the items' are.
    """
    out = []
    for segment in alternatives:
        rendered = [_alternative(h, speech) for h in segment.hypotheses]
        if not rendered or rendered[0] is None:
            continue
        out.append(_segment([a for a in rendered if a is not None]))
    return out


def with_main_items(segments: list[dict], items: list[dict]) -> list[dict]:
    """`segments` whose first alternatives are rebuilt from the transcript's `items`.

    items: `results.items` as finally written (ids, nested `alternatives`). Each segment takes
    the word items lying inside its start/end times, in order, and the punctuation after them.
    A segment left without words (a vocabulary filter removed them all) is dropped; a later
    alternative that now reads as the first is dropped too. Segment times follow the words.
    """
    out = []
    position = 0
    for segment in segments:
        start, end = float(segment["start_time"]), float(segment["end_time"])
        while position < len(items) and _before(items[position], start):
            position += 1
        taken = []
        while position < len(items) and _inside(items[position], end, bool(taken)):
            taken.append(items[position])
            position += 1
        words = [i for i in taken if i.get("type") == "pronunciation"]
        if not words:
            continue
        first = {"transcript": join_items(taken), "items": [_flat(i) for i in taken]}
        others = [a for a in segment["alternatives"][1:] if a["transcript"] != first["transcript"]]
        out.append(_segment([first, *others]))
    return out


def add_segments(
    results: dict, alternatives: list[SegmentAlternatives], speech: Sequence[tuple[float, float]] | None = None
) -> dict:
    """`results` with `segments` after `items` (digest §4.4's order), consistent with its items
    (speech: as for render_segments)."""
    segments = render_segments(alternatives, speech)
    return place_segments(results, with_main_items(segments, results.get("items", [])))


def add_channel_segments(
    results: dict, per_channel: list[list[SegmentAlternatives]], speech: Sequence[tuple[float, float]] | None = None
) -> dict:
    """`results` with `segments` for a ChannelIdentification job: each channel's hypotheses
    (per_channel[i]: channel i's, ch_i) matched with that channel's items, the segments of all
    channels in time order (as `items` are); the segments carry no channel label (AWS's shape
    has none). speech: as for render_segments."""
    segments = []
    for index, alternatives in enumerate(per_channel):
        items = [i for i in results.get("items", []) if i.get("channel_label") == channel_label(index)]
        segments.extend(with_main_items(render_segments(alternatives, speech), items))
    segments.sort(key=lambda segment: float(segment["start_time"]))
    return place_segments(results, segments)


def place_segments(results: dict, segments: list[dict]) -> dict:
    """`results` with `segments` after `items` (digest §4.4's order)."""
    out: dict = {}
    for key, value in results.items():
        if key != "segments":
            out[key] = value
        if key == "items":
            out["segments"] = segments
    out.setdefault("segments", segments)
    return out


def _alternative(hypothesis: Hypothesis, speech: Sequence[tuple[float, float]] | None) -> dict | None:
    tokens = end_failed_alignments(tokens_for_segment(hypothesis))  # as the items' words
    if speech:
        tokens = snap_to_speech(tokens, speech)
    if not any(t.kind == "pronunciation" for t in tokens):
        return None
    return {"transcript": join_tokens(tokens), "items": [_token_item(t) for t in tokens]}


def _token_item(token: Token) -> dict:
    item: dict = {}
    if token.kind == "pronunciation":
        item["start_time"] = format_seconds(token.start)
        item["end_time"] = format_seconds(token.end)
    item["confidence"] = format_confidence(token.confidence)
    item["content"] = token.content
    item["type"] = token.kind
    return item


def _flat(item: dict) -> dict:
    """A transcript item in the flat shape of an alternative's items."""
    best = (item.get("alternatives") or [{}])[0]
    flat: dict = {}
    for key in ("start_time", "end_time"):
        if key in item:
            flat[key] = item[key]
    for key, value in best.items():
        if key != "content":
            flat[key] = value
    flat["content"] = best.get("content", "")
    flat["type"] = item.get("type", "pronunciation")
    return flat


def _segment(alternatives: list[dict]) -> dict:
    words = [i for i in alternatives[0]["items"] if i["type"] == "pronunciation"]
    return {"start_time": words[0]["start_time"], "end_time": words[-1]["end_time"], "alternatives": alternatives}


def _before(item: dict, start: float) -> bool:
    """An item that belongs to no segment from `start` on: a word starting earlier, or punctuation."""
    if item.get("type") != "pronunciation":
        return True
    return "start_time" in item and float(item["start_time"]) < start


def _inside(item: dict, end: float, after_word: bool) -> bool:
    if item.get("type") != "pronunciation":
        return after_word
    return "end_time" not in item or float(item["end_time"]) <= end
