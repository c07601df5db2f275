"""transcribe-emulator: a local Amazon Transcribe that really transcribes."""

__version__ = "0.1.0"
