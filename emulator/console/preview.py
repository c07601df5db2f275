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
"""

from __future__ import annotations

from dataclasses import dataclass, field

GAP = 1.0  # seconds: words closer than this are one span on the timeline


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


def _seconds(text) -> float | None:
    try:
        return None if text is None else float(text)
    except (TypeError, ValueError):
        return None


def words_of(results: dict) -> list[Word]:
    """Every item of `results` as a Word, in order."""
    words = []
    for item in results.get("items", []):
        alternatives = item.get("alternatives") or [{}]
        best = alternatives[0]
        words.append(
            Word(
                content=str(best.get("content", "")),
                start=_seconds(item.get("start_time")),
                end=_seconds(item.get("end_time")),
                confidence=_seconds(best.get("confidence")),
                speaker=item.get("speaker_label"),
                channel=item.get("channel_label"),
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
    segments = results.get("audio_segments") or []
    if not segments or not all(isinstance(s.get("items"), list) for s in segments):
        return _runs(words, lambda w: None) if words else []
    turns = []
    for segment in segments:
        members = [words[i] for i in segment["items"] if 0 <= i < len(words)]
        if not members:
            continue
        times = [w for w in members if not w.is_punctuation]
        start = _seconds(segment.get("start_time")) or (times[0].start if times else 0.0)
        end = _seconds(segment.get("end_time")) or (times[-1].end if times else start)
        turns.append(Turn(segment.get("speaker_label") or segment.get("channel_label"), start, end, members))
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


def build_preview(transcript: dict) -> Preview:
    """The preview of a transcript file (the whole JSON object AWS writes)."""
    results = transcript.get("results") or {}
    words = words_of(results)
    transcripts = results.get("transcripts") or [{}]
    text = transcripts[0].get("transcript", "") if transcripts else ""
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
