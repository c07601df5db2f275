"""A Transcribe transcript file -> what the details page shows: turns, words, a timeline.

Pure functions over the transcript JSON (digest §4: `results.items` with `start_time` /
`end_time` as strings of seconds, `alternatives[0].content`, optional `speaker_label`
("spk_0") and `channel_label` ("ch_0"); `audio_segments`; `speaker_labels`,
`channel_labels`). Times here are float seconds.

Turns: runs of consecutive items of one speaker when the transcript has speaker labels,
else of one channel when it has channel labels, else one turn per audio segment (or one
for the whole text when it has none). Punctuation joins the word before it.
Timeline: one lane per speaker and one per channel, each a list of (start, end) spans
where that voice speaks (words closer than `GAP` seconds merge into one span); without
labels, one "speech" lane.

A file of another shape (not an object, no `results`, `items` not a list, a time that is
not a number of seconds or is out of range, NaN, a label that is not a string...) raises
`MalformedTranscript`, whose message names the member at fault; the page shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GAP = 1.0  # seconds: words closer than this are one span on the timeline
MAX_SECONDS = 24 * 3600.0  # times past a day are no media's (AWS takes at most 4 h)


class MalformedTranscript(ValueError):
    """The file is JSON but not shaped as a Transcribe transcript; the message says where."""


def _object(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise MalformedTranscript(f"{where} is not a JSON object.")
    return value


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise MalformedTranscript(f"{where} is not a list.")
    return value


def _text(value, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MalformedTranscript(f"{where} is not a string.")
    return value


def _number(value, where: str, limit: float | None = MAX_SECONDS) -> float | None:
    """A finite float from a string or a number ("1.25", 1.25); None for None. In [0, limit]
    when a limit is given (times), any finite value otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedTranscript(f"{where} is not a number.")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise MalformedTranscript(f"{where} is not a number: {str(value)[:40]!r}.") from None
    if not math.isfinite(number) or (limit is not None and not 0 <= number <= limit):
        raise MalformedTranscript(f"{where} is out of range: {str(value)[:40]}.")
    return number


@dataclass(frozen=True)
class Word:
    """One item: a pronunciation (with times) or a punctuation mark (times None)."""

    content: str
    start: float | None
    end: float | None
    confidence: float | None
    speaker: str | None = None
    channel: str | None = None
    redacted: bool = False

    @property
    def is_punctuation(self) -> bool:
        return self.start is None


@dataclass
class Turn:
    """Consecutive words of one speaker (or channel, or audio segment)."""

    label: str | None
    start: float
    end: float
    words: list[Word] = field(default_factory=list)

    @property
    def text(self) -> str:
        return join_words(self.words)


@dataclass(frozen=True)
class Lane:
    """A timeline row: `kind` "speaker" or "channel", `label` spk_N / ch_N, spans in seconds."""

    kind: str
    label: str
    spans: tuple[tuple[float, float], ...]

    @property
    def title(self) -> str:
        """"Speaker 0", "Channel 1", "Speech"."""
        return label_title(self.label) if self.kind != "speech" else "Speech"


def label_title(label: str | None) -> str:
    """spk_0 -> "Speaker 0", ch_1 -> "Channel 1"; other labels as they are."""
    if not label:
        return ""
    prefix, _, number = label.partition("_")
    names = {"spk": "Speaker", "ch": "Channel"}
    return f"{names[prefix]} {number}" if prefix in names and number else label


@dataclass
class Preview:
    text: str
    turns: list[Turn]
    lanes: list[Lane]
    duration: float  # seconds: end of the last word
    grouped_by: str  # "speaker", "channel" or "segment"


def words_of(results: dict) -> list[Word]:
    """Every item of `results` as a Word, in order. Raises MalformedTranscript."""
    words = []
    for i, raw in enumerate(_list(results.get("items", []), "results.items")):
        where = f"results.items[{i}]"
        item = _object(raw, where)
        alternatives = _list(item.get("alternatives") or [{}], f"{where}.alternatives")
        best = _object(alternatives[0], f"{where}.alternatives[0]")
        start = _number(item.get("start_time"), f"{where}.start_time")
        end = _number(item.get("end_time"), f"{where}.end_time")
        if start is not None and end is None:
            end = start
        words.append(
            Word(
                content=_text(best.get("content", ""), f"{where}.alternatives[0].content") or "",
                start=start,
                end=end if start is not None else None,
                confidence=_number(best.get("confidence"), f"{where}.alternatives[0].confidence", None),
                speaker=_text(item.get("speaker_label"), f"{where}.speaker_label"),
                channel=_text(item.get("channel_label"), f"{where}.channel_label"),
                redacted=bool(best.get("redactions")),
            )
        )
    return words


def join_words(words: list[Word]) -> str:
    text = ""
    for word in words:
        text += word.content if word.is_punctuation or not text else " " + word.content
    return text


def _runs(words: list[Word], key) -> list[Turn]:
    turns: list[Turn] = []
    for word in words:
        label = key(word)
        if word.is_punctuation and turns:
            turns[-1].words.append(word)
            continue
        if not turns or turns[-1].label != label:
            turns.append(Turn(label, word.start or 0.0, word.end or 0.0))
        turn = turns[-1]
        turn.words.append(word)
        if word.end is not None:
            turn.end = max(turn.end, word.end)
    return turns


def _by_segments(results: dict, words: list[Word]) -> list[Turn]:
    segments = _list(results.get("audio_segments") or [], "results.audio_segments")
    segments = [_object(s, f"results.audio_segments[{i}]") for i, s in enumerate(segments)]
    if not segments or not all(isinstance(s.get("items"), list) for s in segments):
        return _runs(words, lambda w: None) if words else []
    turns = []
    for n, segment in enumerate(segments):
        where = f"results.audio_segments[{n}]"
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in segment["items"]):
            raise MalformedTranscript(f"{where}.items is not a list of item indexes.")
        members = [words[i] for i in segment["items"] if 0 <= i < len(words)]
        if not members:
            continue
        times = [w for w in members if not w.is_punctuation]
        start = _number(segment.get("start_time"), f"{where}.start_time") or (times[0].start if times else 0.0)
        end = _number(segment.get("end_time"), f"{where}.end_time") or (times[-1].end if times else start)
        label = _text(segment.get("speaker_label"), f"{where}.speaker_label") or _text(
            segment.get("channel_label"), f"{where}.channel_label")
        turns.append(Turn(label, start, end, members))
    return turns


def _spans(words: list[Word]) -> tuple[tuple[float, float], ...]:
    spans: list[list[float]] = []
    for word in words:
        if word.is_punctuation:
            continue
        if spans and word.start - spans[-1][1] < GAP:
            spans[-1][1] = max(spans[-1][1], word.end)
        else:
            spans.append([word.start, word.end])
    return tuple((round(a, 3), round(b, 3)) for a, b in spans)


def _lanes(words: list[Word]) -> list[Lane]:
    lanes = []
    for kind, attribute in (("speaker", "speaker"), ("channel", "channel")):
        labels = sorted({getattr(w, attribute) for w in words if getattr(w, attribute)})
        for label in labels:
            lanes.append(Lane(kind, label, _spans([w for w in words if getattr(w, attribute) == label])))
    if not lanes and any(not w.is_punctuation for w in words):
        lanes.append(Lane("speech", "speech", _spans(words)))  # no labels: where anyone speaks
    return lanes


def build_preview(transcript) -> Preview:
    """The preview of a transcript file (the whole JSON object AWS writes, as parsed by
    `json.loads`). Raises MalformedTranscript when it is not shaped as one."""
    results = _object(_object(transcript, "The transcript").get("results"), "results")
    words = words_of(results)
    transcripts = _list(results.get("transcripts") or [{}], "results.transcripts")
    text = _text(_object(transcripts[0], "results.transcripts[0]").get("transcript", ""), "results.transcripts[0].transcript") or ""
    if any(w.speaker for w in words):
        grouped_by, turns = "speaker", _runs(words, lambda w: w.speaker)
    elif any(w.channel for w in words):
        grouped_by, turns = "channel", _runs(words, lambda w: w.channel)
    else:
        grouped_by, turns = "segment", _by_segments(results, words)
    ends = [w.end for w in words if w.end is not None]
    return Preview(text, turns, _lanes(words), max(ends) if ends else 0.0, grouped_by)


def timestamp(seconds: float) -> str:
    """0:05, 1:02:03: the clock a turn starts at."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
