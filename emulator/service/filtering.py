"""Vocabulary filtering and DisplayAs. Pure: tokens in, new tokens out (`vocabulary_filter`,
`display_as`), for batch and streaming alike (emulator.service.tokens); the tokens are rendered
as Transcribe's `results` (digest §4) afterwards, by emulator.service.output.

Vocabulary filter methods (AWS Developer Guide, "Using custom vocabulary filters"; the
`VocabularyFilterMethod` enum):
* "mask": each matching word's content becomes "***" (so in items, transcripts and segments);
* "remove": matching words disappear, with the punctuation they leave dangling (item ids,
  segments and transcripts, rendered afterwards, agree);
* "tag": matching tokens get `filter_match` (`"vocabularyFilterMatch": true`); text unchanged.

Matching is on whole words, ignoring case (and ’ versus '); punctuation never matches.
A filter entry of several words ("good grief") matches the same words in consecutive tokens
with no punctuation between them, inside one audio segment (a token's `segment`).

DisplayAs: a phrase is recognised when the words of consecutive tokens (no punctuation
between, one audio segment) spell it, ignoring case, hyphens, periods and apostrophes, and
regardless of how the recogniser split it into words ("Los Angeles", "LosAngeles" and
"los-angeles" all match Phrase "Los-Angeles"; "DynamoDB" matches "Dynamo-D.B."). Entries
without DisplayAs leave the text alone. Longest match wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from emulator.service.tokens import PRONUNCIATION, PUNCTUATION, Token
from emulator.service.vocabulary_tables import Vocabulary

MASK = "***"  # AWS's mask for filtered words
METHODS = ("remove", "mask", "tag")


# --- on tokens ----------------------------------------------------------------------------


def vocabulary_filter(tokens: list[Token], words: list[str], method: str) -> list[Token]:
    """`tokens` with the filter's `words` masked (content "***"), removed (with the punctuation
    they leave dangling) or tagged (`filter_match`); see the module docstring.

    Raises ValueError for a method outside VocabularyFilterMethod (remove | mask | tag).
    """
    matched = _filter_matches(tokens, words, method)
    if method == "tag":
        return [replace(t, filter_match=True) if i in matched else t for i, t in enumerate(tokens)]
    if method == "mask":
        return [replace(t, content=MASK) if i in matched else t for i, t in enumerate(tokens)]
    return [tokens[i] for i in _kept(tokens, matched)]


def display_as(tokens: list[Token], vocabulary: Vocabulary) -> list[Token]:
    """`tokens` with each recognised phrase of `vocabulary` written as its DisplayAs: the
    tokens that spell it become one token spanning their times, with their lowest confidence
    (see the module docstring for the matching)."""
    groups = _display_groups(tokens, vocabulary)
    if groups is None:
        return list(tokens)
    out: list[Token] = []
    for group in groups:
        first, last = tokens[group.indices[0]], tokens[group.indices[-1]]
        if group.display is not None:
            first = replace(
                first,
                content=group.display,
                confidence=min(tokens[i].confidence for i in group.indices),
                end=last.end if last.end is not None else first.end,
            )
        out.append(first)
    return out


# --- matching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """Positions of consecutive tokens that one match covers, with the text to display instead."""

    indices: tuple[int, ...]
    display: str | None = None


def _filter_key(content: str) -> str:
    return content.replace("’", "'").casefold()


def _pattern(word: str) -> tuple[str, ...]:
    return tuple(_filter_key(w) for w in word.split())


def _spelling(text: str) -> str:
    """What DisplayAs matching compares: no case, spaces, hyphens, periods or apostrophes."""
    return "".join(c for c in text.casefold() if c not in " -.'’")


def _filter_matches(tokens: list[Token], words: list[str], method: str) -> set[int]:
    """Positions of the words a filter's `words` match. ValueError for an unknown method."""
    if method not in METHODS:
        raise ValueError(f"unknown vocabulary filter method {method!r}")
    patterns = {_pattern(w) for w in words} - {()}
    longest = max(map(len, patterns), default=0)

    def match(keys: list[str], start: int) -> tuple[int, None]:
        for length in range(min(longest, len(keys) - start), 0, -1):
            if tuple(keys[start : start + length]) in patterns:
                return length, None
        return 0, None

    return {i for run in _find_runs(tokens, match, _filter_key) for i in run.indices}


def _display_groups(tokens: list[Token], vocabulary: Vocabulary) -> list[_Run] | None:
    """The positions, in order, that each output token stands for: a run with its DisplayAs
    where a phrase matched, else one position. None when no entry has a DisplayAs."""
    displays: dict[str, str] = {}  # spelling -> DisplayAs; the first entry wins
    for entry in vocabulary.entries:
        if entry.display_as and _spelling(entry.phrase):
            displays.setdefault(_spelling(entry.phrase), entry.display_as)
    if not displays:
        return None
    longest = max(map(len, displays))

    def match(keys: list[str], start: int) -> tuple[int, str | None]:
        best: tuple[int, str | None] = (0, None)
        spelled = ""
        for end in range(start, len(keys)):
            spelled += keys[end]
            if not keys[end] or len(spelled) > longest:
                break
            if spelled in displays:
                best = (end - start + 1, displays[spelled])
        return best

    run_at = {run.indices[0]: run for run in _find_runs(tokens, match, _spelling)}
    groups: list[_Run] = []
    i = 0
    while i < len(tokens):
        run = run_at.get(i) or _Run((i,))
        groups.append(run)
        i = run.indices[-1] + 1
    return groups


def _find_runs(tokens: list[Token], match: Callable, key: Callable[[str], str]) -> list[_Run]:
    """Non-overlapping runs of consecutive words that `match` accepts, left to right.

    `match(keys, start)` gets the keys of a stretch's words (consecutive words of one
    segment) and the current word's index; it returns (how many words from there on it
    covers, 0 for none; the text to display instead, or None).
    """
    runs: list[_Run] = []
    for stretch in _stretches(tokens):
        keys = [key(tokens[i].content) for i in stretch]
        start = 0
        while start < len(stretch):
            length, display = match(keys, start)
            if length:
                runs.append(_Run(tuple(stretch[start : start + length]), display))
                start += length
            else:
                start += 1
    return runs


def _stretches(tokens: list[Token]) -> list[list[int]]:
    """Maximal lists of consecutive words with no punctuation between, one segment each."""
    stretches: list[list[int]] = []
    for i, token in enumerate(tokens):
        if token.kind != PRONUNCIATION:
            continue
        last = stretches[-1][-1] if stretches else None
        if last == i - 1 and tokens[last].segment == token.segment:
            stretches[-1].append(i)
        else:
            stretches.append([i])
    return stretches


# --- rebuilding ---------------------------------------------------------------------------


def _kept(tokens: list[Token], removed: set[int]) -> list[int]:
    """Positions kept after removing words, without the punctuation they leave dangling.

    A punctuation mark right after a removed word goes too when nothing precedes it any more
    in its segment ("Darn. It works." -> "It works."); when the token kept before it is itself
    punctuation, that earlier mark goes instead ("I said, darn!" -> "I said!").
    """
    kept: list[int] = []
    for i, token in enumerate(tokens):
        if i in removed:
            continue
        if token.kind == PUNCTUATION and i - 1 in removed:
            if not (kept and tokens[kept[-1]].segment == token.segment):
                continue
            if tokens[kept[-1]].kind == PUNCTUATION:
                kept.pop()
        kept.append(i)
    return kept


def join_items(items: list[dict]) -> str:
    """Words separated by spaces, punctuation attached to the word before it (as output.join_tokens)."""
    out = ""
    for item in items:
        content = item["alternatives"][0]["content"] if item.get("alternatives") else ""
        if item.get("type") == "punctuation" or not out:
            out += content
        else:
            out += " " + content
    return out
