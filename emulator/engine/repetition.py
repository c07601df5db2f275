"""Whisper's repetition loops ("yeah yeah yeah ..." thirteen times, a sentence over and over):
found on decoded words, so that the recognizer can decode that stretch again. Pure.

Knows nothing of AWS. A loop is an n-gram (1 to `longest` words, compared without case and
punctuation) repeated back to back more than `most` times: people say "no, no, no" or "very
very", rarely the same thing four times running, and Whisper's loops run on for 5 to 30.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w']+")


def _normal(word: str) -> str:
    return _NOT_WORD.sub("", word.lower())


def find_loops(words: list[str], most: int = 3, longest: int = 6) -> list[tuple[int, int, int]]:
    """Repetition loops in `words` (Whisper's words, punctuation attached): (start, stop, n),
    words[start:stop] being one n-gram repeated more than `most` times back to back; sorted,
    not overlapping (the longest stretch wins). [] when there is none."""
    norm = [_normal(w) for w in words]
    found: list[tuple[int, int, int]] = []
    i = 0
    while i < len(norm):
        best = None
        for n in range(1, longest + 1):
            gram = norm[i : i + n]
            if len(gram) < n or not any(gram):
                break
            repeats = 1
            while norm[i + repeats * n : i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats > most and (best is None or repeats * n > best[1] - best[0]):
                best = (i, i + repeats * n, n)
        if best:
            found.append(best)
            i = best[1]
        else:
            i += 1
    return found


def cut_loops(words: list, text_of=lambda w: w, keep: int = 2, **limits) -> list:
    """`words` with each loop cut to its first `keep` repeats (text_of: a word's text)."""
    loops = find_loops([text_of(w) for w in words], **limits)
    if not loops:
        return list(words)
    out, position = [], 0
    for start, stop, n in loops:
        out.extend(words[position : start + keep * n])
        position = stop
    out.extend(words[position:])
    return out
