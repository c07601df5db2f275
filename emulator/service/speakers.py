"""Speaker labels (ShowSpeakerLabels): on tokens (`label_speakers`), then the sections they
change on the tokens' rendering (`speaker_sections`, called by output.render_job_results). Pure.

Shape source: digest §4 and §4.2, and the real output recorded in
shared/reference/aws-recorded-responses.json (test_transcribe_speaker_diarization):
* every item gets `speaker_label` "spk_N", punctuation included (it takes the label of the
  word before it);
* `speaker_labels` = {"channel_label": "ch_0", "speakers": <int>, "segments": [{"start_time",
  "end_time", "speaker_label", "items": [{"start_time", "end_time", "speaker_label"}]}]}, one
  segment per run of consecutive items of one speaker, its items the run's pronunciations;
* each `audio_segments` entry has one speaker (`speaker_label`); a segment whose items change
  speaker is split there, and segment ids are renumbered from 0;
* key order of `results`: transcripts, speaker_labels, then the rest as it was (items,
  audio_segments): the recorded file's order.

Chosen here, where AWS says nothing:
* A word takes the speaker of the turn it overlaps most, or of the nearest turn when it
  overlaps none (turns come from the diarizer's VAD, words from Whisper's: they disagree at
  the edges). Without any turn every item is spk_0.
* Labels are renumbered in order of first appearance among the items, so they run spk_0,
  spk_1, ... without holes and `speakers` counts the labels that occur (a diarized voice
  with no recognised word is not counted).
* Word times are those of the plain transcript: the pipeline has cut them to the VAD's speech
  (`segmentation.snap_to_speech`) before, for every job. The turns, whose edges the speaker
  segmentation draws tighter, do not cut them again: speaker labels change no word and no time.
* A speaker segment (and its audio segment) ends where more than SPEAKER_PAUSE (0.5 s) passes
  between two words of its speaker that the speaker's own turns mostly do not cover: AWS's
  segments end at pauses (its recorded LocalStack output at a 0.37 s one). Where the
  speaker's turn does cover such a gap (speech the recognizer has no words for), Whisper's
  segment boundary there is no pause and the two audio segments are one; a gap of more than
  PAUSE (1 s, emulator.service.segmentation) at a boundary always stays one, so no segment
  holds two words more than PAUSE apart unless the speaker's turn runs through the gap.
* Segment times are those of the segment's first and last word (AWS's sometimes reach a bit
  beyond into the silence around them; a fixed margin of 0.1 to 0.3 s was measured and makes
  the strict DER of the synthetic meetings worse, bench/speaker_segments.py).
* Channel identification and speaker labels together (AWS's current API accepts both): the
  turns come from one diarization of the whole (downmixed) recording, items keep their
  `channel_label` and gain `speaker_label`, `speaker_labels.channel_label` stays "ch_0", and
  the copies of items in `channel_labels` get the same labels.

Apply vocabulary filters and DisplayAs first (a "remove" filter renumbers items): this
module reads the final items.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace

from emulator.engine.diarization import SpeakerTurn
from emulator.service.segmentation import PAUSE
from emulator.service.tokens import Token, join_tokens

# Seconds between two words of one speaker, mostly outside that speaker's turns, that end a
# speaker segment (and its audio segment); PAUSE (1 s) before. Measured with the word times cut
# to speech (bench/speaker_segments.py, pooled strict DER of the 3-4 / 6-talker meetings):
# 1.0 s 43.4 / 50.5 %, 0.7 s 42.6 / 46.0 %, 0.5 s 40.8 / 43.5 %; shorter changes nothing (the
# diarizer's turns bridge pauses under 0.5 s). The shared AMI items do not move (23.2 %); the
# long file, whose RTTM counts each reader's pauses as speech, goes from 13.1 to 14.2 %.
SPEAKER_PAUSE = 0.5


def speaker_label(index: int) -> str:
    return f"spk_{index}"


def label_speakers(tokens: list[Token], turns: Sequence[SpeakerTurn]) -> list[Token]:
    """`tokens` with `speaker` from `turns` (see the module docstring); their times are kept.
    Words are placed by their times as the transcript shows them (milliseconds). A segment is
    also cut where more than SPEAKER_PAUSE seconds pass between two words of one speaker that
    the speaker's own turns mostly do not cover (a speaker segment never bridges silence, nor
    other voices)."""
    spans = [
        (round(max(t.start, 0.0), 3), round(max(t.end, 0.0), 3)) if t.start is not None and t.end is not None else None
        for t in tokens
    ]
    labels = _labels(spans, turns)
    own: dict[str, list[tuple[float, float]]] = {}
    for token, label in zip(tokens, labels):  # label -> the diarizer's speaker (renumbered)
        if token.kind == "pronunciation" and token.start is not None and label not in own:
            own[label] = []
    speaker_of = _label_of_speaker(spans, turns, labels)
    for turn in sorted(turns, key=lambda t: t.start):
        if turn.speaker in speaker_of:
            own[speaker_of[turn.speaker]].append((turn.start, turn.end))
    numbers = _speaker_segments(tokens, labels, {label: _union(spans) for label, spans in own.items()})
    return [replace(token, speaker=label, segment=n) for token, label, n in zip(tokens, labels, numbers)]


def _speaker_segments(tokens: list[Token], labels: list[str], own: dict[str, list[tuple[float, float]]]) -> list[int]:
    """The audio segment number of each token (0, 1, ...): the recognizer's segments, cut
    where more than SPEAKER_PAUSE seconds pass between two words of one speaker that the
    speaker's own turns (`own`: label -> sorted, non-overlapping spans) mostly do not cover,
    and joined where a segment of a speaker ends more than SPEAKER_PAUSE (at most PAUSE)
    before the next of the same speaker begins with that speaker's turns covering most of the
    gap (Whisper's segments are decoding windows: there the speaker went on, with words it
    missed). So a speaker segment (`_runs`: cut where the audio segment changes across more
    than SPEAKER_PAUSE) ends exactly at the speaker's pauses. Tokens other than timed words
    stay in the segment before them; a channel change always starts a segment."""
    starts = {label: [a for a, _ in spans] for label, spans in own.items()}
    numbers: list[int] = []
    number = 0
    previous: Token | None = None  # the last timed word
    previous_label = None
    for token, label in zip(tokens, labels):
        if token.kind == "pronunciation" and token.start is not None and token.end is not None:
            if previous is not None:
                gap = token.start - previous.end
                # Without turns of its own (no turns at all) a speaker's pauses are unknown.
                same = label == previous_label and token.channel == previous.channel and bool(own.get(label))
                speaking = same and _covered(own[label], starts[label], previous.end, token.start) >= gap / 2
                boundary = token.segment != previous.segment or token.channel != previous.channel
                if same and gap > SPEAKER_PAUSE and not (boundary and gap > PAUSE):
                    number += 0 if speaking else 1
                elif boundary:
                    number += 1
            previous, previous_label = token, label
        numbers.append(number)
    return numbers


def _covered(spans: list[tuple[float, float]], starts: list[float], start: float, end: float) -> float:
    """Seconds of [start, end] inside `spans` (sorted, not overlapping; `starts` their starts)."""
    i = max(bisect.bisect_right(starts, start) - 1, 0)
    seconds = 0.0
    while i < len(spans) and spans[i][0] < end:
        seconds += max(0.0, min(end, spans[i][1]) - max(start, spans[i][0]))
        i += 1
    return seconds


def _union(spans) -> list[tuple[float, float]]:
    """The union of (start, end) spans as sorted, non-overlapping spans."""
    out: list[list[float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def _label_of_speaker(spans, turns: Sequence[SpeakerTurn], labels: list[str]) -> dict[int, str]:
    """The diarizer's speaker number -> the label its words got."""
    index = _Turns(turns)
    out: dict[int, str] = {}
    for span, label in zip(spans, labels):
        if span is not None and turns:
            out.setdefault(index.speaker_of(*span), label)
    return out


def speaker_sections(results: dict) -> dict:
    """`results` whose items carry `speaker_label`, with the sections speaker labels change:
    `speaker_labels` added after `transcripts`, `audio_segments` split where the speaker
    changes, the item copies of `channel_labels` labelled."""
    items = results.get("items", [])
    segment_of = {i: segment["id"] for segment in results.get("audio_segments", []) for i in segment.get("items", [])}
    out: dict = {}
    for key, value in results.items():
        if key == "items":
            out["items"] = items
        elif key == "audio_segments":
            out["audio_segments"] = _split_audio_segments(value, items)
        elif key == "channel_labels":
            out["channel_labels"] = _label_channel_items(value, items)
        else:
            out[key] = value
        if key == "transcripts":
            out["speaker_labels"] = _speaker_labels(items, segment_of)
    if "speaker_labels" not in out:
        out = {"speaker_labels": _speaker_labels(items, segment_of), **out}
    return out


# --- items ---------------------------------------------------------------------------------


def _labels(spans: list[tuple[float, float] | None], turns: Sequence[SpeakerTurn]) -> list[str]:
    """One label per item (spans: its start and end, None without times): words by overlap
    with the turns, punctuation (and anything without times) from the item before it; then
    renumbered by first appearance."""
    index = _Turns(turns)
    speakers: list[int | None] = [index.speaker_of(*span) if turns and span is not None else None for span in spans]
    # Punctuation follows the word before it; a leading one takes the first word's speaker.
    first = next((s for s in speakers if s is not None), 0)
    previous = first
    for i, speaker in enumerate(speakers):
        if speaker is None:
            speakers[i] = previous
        previous = speakers[i]
    numbers: dict[int, int] = {}
    return [speaker_label(numbers.setdefault(s, len(numbers))) for s in speakers]


class _Turns:
    """Turns sorted by start, for finding the turns a word overlaps. Turns may overlap (where
    the diarizer hears two voices at once): `last[i]` is the index of the turn among the
    first i + 1 that ends last, and `reach[i]` its end (so `reach` never decreases)."""

    def __init__(self, turns: Sequence[SpeakerTurn]):
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        self.last: list[int] = []
        for i, turn in enumerate(self.turns):
            self.last.append(i if not self.last or turn.end > self.turns[self.last[-1]].end else self.last[-1])
        self.reach = [self.turns[i].end for i in self.last]

    def speaker_of(self, start: float, end: float) -> int:
        """The speaker of the turn that overlaps [start, end] most, else of the nearest turn."""
        turns = self.turns
        first = bisect.bisect_right(self.reach, start)  # turns before `first` end before the word starts
        stop = bisect.bisect_left(self.starts, end)  # turns from `stop` on start after the word ends
        best, best_overlap = None, 0.0
        for i in range(first, stop):
            overlap = min(end, turns[i].end) - max(start, turns[i].start)
            if overlap > best_overlap:
                best, best_overlap = turns[i], overlap
        if best is not None:
            return best.speaker
        candidates = [turns[self.last[first - 1]]] if first > 0 else []
        candidates += [turns[first]] if first < len(turns) else []
        return min(candidates, key=lambda t: max(t.start - end, start - t.end, 0.0)).speaker


# --- sections ------------------------------------------------------------------------------


def _runs(items: list[dict], segment_of: dict[int, int] | None = None) -> list[list[dict]]:
    """Consecutive items of one speaker, cut where the audio segment changes (segment_of: item
    id -> audio segment id) across more than SPEAKER_PAUSE seconds between two words: audio
    segments end at the speaker's pauses (label_speakers), so a speaker segment never bridges
    silence; Whisper's own segment ends at shorter gaps do not cut it."""
    segment_of = segment_of or {}
    runs: list[list[dict]] = []
    last_word = None
    for item in items:
        cut = False
        if item.get("type") == "pronunciation" and "start_time" in item:
            cut = (
                last_word is not None
                and segment_of.get(last_word.get("id")) != segment_of.get(item.get("id"))
                and float(item["start_time"]) - float(last_word["end_time"]) > SPEAKER_PAUSE
            )
            last_word = item
        if runs and runs[-1][-1]["speaker_label"] == item["speaker_label"] and not cut:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _timed(items: list[dict]) -> list[dict]:
    return [i for i in items if i.get("type") == "pronunciation" and "start_time" in i and "end_time" in i]


def _speaker_labels(items: list[dict], segment_of: dict[int, int]) -> dict:
    segments = []
    for run in _runs(items, segment_of):
        words = _timed(run)
        if not words:
            continue
        segments.append(
            {
                "start_time": words[0]["start_time"],
                "end_time": words[-1]["end_time"],
                "speaker_label": run[0]["speaker_label"],
                "items": [
                    {"start_time": w["start_time"], "end_time": w["end_time"], "speaker_label": w["speaker_label"]}
                    for w in words
                ],
            }
        )
    return {
        "channel_label": "ch_0",
        "speakers": len({item["speaker_label"] for item in items}),
        "segments": segments,
    }


def _split_audio_segments(segments: list[dict], items: list[dict]) -> list[dict]:
    """Each audio segment cut where the speaker changes; ids renumbered; other members
    (channel_label) kept."""
    by_id = {item["id"]: item for item in items}
    out: list[dict] = []
    for segment in segments:
        members = [by_id[i] for i in segment.get("items", []) if i in by_id]
        for run in _runs(members) or [[]]:
            words = _timed(run)
            piece = {
                "id": len(out),
                "transcript": join_tokens([_token(item) for item in run]) if run else segment.get("transcript", ""),
                "start_time": words[0]["start_time"] if words else segment.get("start_time"),
                "end_time": words[-1]["end_time"] if words else segment.get("end_time"),
            }
            piece.update(
                (k, v)
                for k, v in segment.items()
                if k not in ("id", "transcript", "start_time", "end_time", "items", "speaker_label")
            )
            if run:
                piece["speaker_label"] = run[0]["speaker_label"]
            piece["items"] = [item["id"] for item in run]
            out.append({k: v for k, v in piece.items() if v is not None})
    return out


def _token(item: dict) -> Token:
    return Token(item.get("type", "pronunciation"), item["alternatives"][0]["content"], 0.0)


def _label_channel_items(channel_labels: dict, items: list[dict]) -> dict:
    """`channel_labels` whose per-channel item copies carry the same speaker labels (the
    copies are the top-level items of that channel, in order, without `id`)."""
    per_channel: dict[str, list[str]] = {}
    for item in items:
        per_channel.setdefault(item.get("channel_label"), []).append(item["speaker_label"])
    channels = []
    for channel in channel_labels.get("channels", []):
        labels = per_channel.get(channel.get("channel_label"), [])
        copies = [
            {**copy, "speaker_label": labels[i]} if i < len(labels) else dict(copy)
            for i, copy in enumerate(channel.get("items", []))
        ]
        channels.append({**channel, "items": copies})
    return {**channel_labels, "channels": channels}
