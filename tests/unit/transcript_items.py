"""Test helper: a batch transcript's `results.items` entry back as the token it renders from."""

from __future__ import annotations

from emulator.service.tokens import Token


def token_of_item(item: dict, segment: int = 0) -> Token:
    """item: one of Transcribe's `results.items` (times and confidence as strings; punctuation
    without times) -> the Token with the same kind, content, confidence and seconds."""
    alternative = item["alternatives"][0]
    return Token(
        item["type"],
        alternative["content"],
        float(alternative["confidence"]),
        float(item["start_time"]) if "start_time" in item else None,
        float(item["end_time"]) if "end_time" in item else None,
        segment=segment,
    )
