"""Subtitle files (WebVTT, SubRip) rendered from a job's transcript `results`.

Input: the `results` dict of a transcript (digest §4, `output.render_tokens`): `items` in
order, pronunciations with string `start_time`/`end_time` in seconds, punctuation without times,
optional `speaker_label`/`channel_label`, optional `audio_segments` listing item ids.
Output: the text of a `.srt` or `.vtt` file (UTF-8, LF line endings).

What is matched, and from where:
* Both formats; subtitle files come from the transcript itself, so redacted content (`[PII]`) and
  masked vocabulary-filter words (`***`) appear as they do in the transcript, and removed words
  are absent (they are not items). Source: AWS Developer Guide, "Creating video subtitles"
  (docs.aws.amazon.com/transcribe/latest/dg/subtitles.html).
* A cue is shown while it is spoken and "remains visible until there is a natural pause or the
  speaker finishes talking" (same page): a cue starts at its first word's `start_time` and ends at
  its last word's `end_time`; it is not stretched over the silence that follows. A new cue starts
  at a pause, and at each `audio_segments` boundary (AWS's own utterance split).
* Numbering starts at `OutputStartIndex`, 0 by default or 1 (same page; API reference
  `Subtitles.OutputStartIndex`, "the starting value that is assigned to the first subtitle
  segment"), in both formats: the issue that led to the parameter reports "SRT and VTT files start
  with 0" (github.com/awsdocs/amazon-transcribe-developer-guide/issues/18), so VTT cues are numbered.
* Several speakers in one cue: "dashes are used to distinguish each speaker ... for example:
  `-- Text spoken by Person 1` / `-- Text spoken by Person 2`" (same page). Labels such as
  `spk_0` never appear.
* Cue shape, from a public VTT file that has the marks of a default Transcribe job (cues numbered
  from 0, millisecond times equal to item times, Transcribe's fillers "Uh", found through the code
  index, which does not name its repository): one line of text per cue, punctuation glued to the
  word before it, cues up to about 80 characters and 7 s, long utterances cut between words even
  mid-sentence, a cue per short fragment after a pause.
* Timestamps `HH:MM:SS,mmm` (srt) and `HH:MM:SS.mmm` (vtt), hours always present (SubRip and WebVTT
  conventions; the same sample).

Chosen here, where AWS says nothing:
* A pause is a gap of at least `PAUSE_S` between one word's end and the next word's start.
* A cue holds at most `MAX_CHARS` characters; a word that alone is longer gets a cue of its own.
* A cue holds at most two speakers' turns, one line each, `-- ` before each; a third turn opens a
  new cue. Channel labels are ignored: items are taken in their order in `items`.
* Layout: each cue is `index`, `start --> end`, text lines, then one blank line between cues; the
  file ends with a single newline. VTT starts with `WEBVTT` and a blank line. Text is not
  HTML-escaped (Transcribe content holds no `<` or `&` in practice).
* No speech: AWS writes no subtitle file at all (same page); `cues()` is then empty, and callers
  decide from that. `render_subtitles` still returns a valid empty file: "" (srt), "WEBVTT\\n\\n" (vtt).
"""

from __future__ import annotations

from dataclasses import dataclass

FORMATS = ("vtt", "srt")
# A silence this long (seconds) ends a cue.
PAUSE_S = 1.0
# Longest cue text, in characters (newlines and speaker dashes included).
MAX_CHARS = 84
# Speaker turns one cue may show, one line each.
MAX_TURNS = 2
SPEAKER_DASH = "-- "


@dataclass(frozen=True)
class Cue:
    """One subtitle: start and end in seconds, text possibly over several lines."""

    start: float
    end: float
    text: str


@dataclass
class _Word:
    """A pronunciation item with the punctuation that follows it."""

    start: float
    end: float
    text: str
    speaker: str | None
    opens_segment: bool


def _content(item: dict) -> str:
    alternatives = item.get("alternatives") or [{}]
    return alternatives[0].get("content", "")


def _segment_openers(items: list[dict], results: dict) -> set:
    """Ids of the first pronunciation item of every audio segment."""
    by_id = {item.get("id", index): item for index, item in enumerate(items)}
    openers = set()
    for segment in results.get("audio_segments") or []:
        for item_id in segment.get("items", []):
            if by_id.get(item_id, {}).get("type") == "pronunciation":
                openers.add(item_id)
                break
    return openers


def _words(results: dict) -> list[_Word]:
    items = results.get("items") or []
    openers = _segment_openers(items, results)
    words: list[_Word] = []
    leading = ""  # punctuation before any word: kept, glued to the next word
    for index, item in enumerate(items):
        content = _content(item)
        if item.get("type") != "pronunciation" or "start_time" not in item:
            if words:
                words[-1].text += content
            else:
                leading += content
            continue
        words.append(
            _Word(
                start=float(item["start_time"]),
                end=float(item["end_time"]),
                text=leading + content,
                speaker=item.get("speaker_label"),
                opens_segment=item.get("id", index) in openers,
            )
        )
        leading = ""
    return words


def _turns(words: list[_Word]) -> list[list[_Word]]:
    """Runs of consecutive words by the same speaker."""
    turns: list[list[_Word]] = []
    for word in words:
        if turns and turns[-1][-1].speaker == word.speaker:
            turns[-1].append(word)
        else:
            turns.append([word])
    return turns


def _text(words: list[_Word]) -> str:
    turns = _turns(words)
    if len(turns) == 1:
        return " ".join(w.text for w in words)
    return "\n".join(SPEAKER_DASH + " ".join(w.text for w in turn) for turn in turns)


def _opens_cue(current: list[_Word], word: _Word) -> bool:
    if word.opens_segment or word.start - current[-1].end >= PAUSE_S:
        return True
    candidate = current + [word]
    return len(_turns(candidate)) > MAX_TURNS or len(_text(candidate)) > MAX_CHARS


def _cue(words: list[_Word]) -> Cue:
    start = words[0].start
    return Cue(start, max(words[-1].end, start), _text(words))


def cues(results: dict) -> list[Cue]:
    """The cues of a transcript `results` dict, in time order; [] when it holds no speech."""
    out: list[Cue] = []
    current: list[_Word] = []
    for word in _words(results):
        if current and _opens_cue(current, word):
            out.append(_cue(current))
            current = []
        current.append(word)
    if current:
        out.append(_cue(current))
    return out


def format_timestamp(seconds: float, separator: str) -> str:
    """Seconds -> "HH:MM:SS<separator>mmm" ("," for srt, "." for vtt); hours grow past 99."""
    millis = max(round(seconds * 1000), 0)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render_subtitles(results: dict, subtitle_format: str, start_index: int = 0) -> str:
    """The text of one subtitle file. subtitle_format: "srt" | "vtt" (Subtitles.Formats);
    start_index: Subtitles.OutputStartIndex (0 or 1). Raises ValueError for another format."""
    if subtitle_format not in FORMATS:
        raise ValueError(f"unknown subtitle format {subtitle_format!r}")
    separator = "," if subtitle_format == "srt" else "."
    blocks = []
    for number, cue in enumerate(cues(results), start=start_index):
        timing = f"{format_timestamp(cue.start, separator)} --> {format_timestamp(cue.end, separator)}"
        blocks.append(f"{number}\n{timing}\n{cue.text}\n")
    body = "\n".join(blocks)
    return "WEBVTT\n\n" + body if subtitle_format == "vtt" else body
