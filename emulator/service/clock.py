"""Timestamps as Transcribe's DateTime members carry them: epoch seconds, millisecond precision."""

import time


def aws_now() -> float:
    return round(time.time(), 3)
