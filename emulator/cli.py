"""`transcribe-emulator serve [options]`: flags override TRANSCRIBE_EMULATOR_* variables.
`transcribe-emulator transcribe FILE...`: files transcribed here and now, no server (emulator.oneshot)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import get_args

from pydantic import ValidationError

from emulator import __version__
from emulator.config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transcribe-emulator", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the emulator")
    fields = Settings.model_fields
    for name, kind in (
        ("host", str),
        ("port", int),
        ("https_port", int),
        ("websocket_port", int),
        ("tls_cert_file", Path),
        ("tls_key_file", Path),
        ("data_dir", Path),
        ("s3_endpoint", str),
        ("s3_public_endpoint", str),
        ("s3_port", int),
        ("eventbridge_endpoint", str),
        ("access_key", str),
        ("secret_key", str),
        ("account_id", str),
        ("region", str),
        ("workers", int),
        ("max_concurrent_jobs", int),
        ("cpu_threads", int),
        ("beam_size", int),
        ("models_dir", Path),
        ("model_store_dir", Path),
        ("log_level", str),
        ("log_format", str),
        ("database_url", str),
    ):
        env = f"TRANSCRIBE_EMULATOR_{name.upper()}"
        choices = [c for c in get_args(fields[name].annotation) if isinstance(c, str)] or None
        serve.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            choices=choices,
            default=None,
            help=f"{fields[name].description} (env {env}; default {fields[name].default})",
        )
    serve.add_argument(
        "--lazy-models",
        action="store_true",
        default=None,
        help=f"{fields['lazy_models'].description} (env TRANSCRIBE_EMULATOR_LAZY_MODELS=true)",
    )
    serve.add_argument(
        "--allow-http-media",
        action="store_true",
        default=None,
        help=f"{fields['allow_http_media'].description} (env TRANSCRIBE_EMULATOR_ALLOW_HTTP_MEDIA=true)",
    )
    serve.add_argument(
        "--no-verify-signatures",
        dest="verify_signatures",
        action="store_false",
        default=None,
        help="accept requests without checking SigV4 (env TRANSCRIBE_EMULATOR_VERIFY_SIGNATURES=false)",
    )
    worker = commands.add_parser("worker", help="run a transcription worker on a shared job store (no API)")
    _setting_options(worker, WORKER_OPTIONS)
    models = commands.add_parser("models", help="list the models; --prepare assembles and sha256-checks them")
    models.add_argument("--prepare", action="store_true", help="assemble split models and verify every sha256")
    models.add_argument("--data-dir", type=Path, default=None)
    models.add_argument("--model-store-dir", type=Path, default=None)
    models.add_argument("--models-dir", type=Path, default=None)
    _transcribe_parser(commands)
    return parser


# `transcribe-emulator worker`: what a worker reads from the shared store and S3 (docs/SCALING.md).
WORKER_OPTIONS = (
    ("database_url", str),
    ("s3_endpoint", str),
    ("data_dir", Path),
    ("workers", int),
    ("lease_seconds", float),
    ("account_id", str),
    ("cpu_threads", int),
    ("beam_size", int),
    ("models_dir", Path),
    ("model_store_dir", Path),
    ("log_level", str),
    ("log_format", str),
)


def _setting_options(parser: argparse.ArgumentParser, names) -> None:
    """One --flag per Settings field, its help naming the TRANSCRIBE_EMULATOR_* variable."""
    fields = Settings.model_fields
    for name, kind in names:
        env = f"TRANSCRIBE_EMULATOR_{name.upper()}"
        choices = [c for c in get_args(fields[name].annotation) if isinstance(c, str)] or None
        help_text = f"{fields[name].description} (env {env}; default {fields[name].default})"
        parser.add_argument("--" + name.replace("_", "-"), type=kind, choices=choices, default=None, help=help_text)


def _transcribe_parser(commands) -> None:
    from emulator.oneshot import FORMATS

    one = commands.add_parser(
        "transcribe", help="transcribe files here and now (no server, no S3); Transcribe's JSON on stdout"
    )
    one.add_argument("files", nargs="+", type=Path, metavar="FILE", help="media files (WAV, FLAC, MP3, MP4, Ogg, ...)")
    language = one.add_mutually_exclusive_group()
    language.add_argument("--language-code", help="the language spoken, e.g. en-US (LanguageCode)")
    language.add_argument(
        "--identify-language", action="store_true", help="identify the language (IdentifyLanguage; the default)"
    )
    speakers = one.add_mutually_exclusive_group()
    speakers.add_argument("--show-speaker-labels", action="store_true", help="label speakers (ShowSpeakerLabels)")
    speakers.add_argument(
        "--channel-identification", action="store_true", help="transcribe each channel (ChannelIdentification)"
    )
    one.add_argument(
        "--max-speaker-labels", type=int, default=10, choices=range(2, 31), metavar="2..30",
        help="with --show-speaker-labels: most speakers to tell apart (MaxSpeakerLabels; default 10)",
    )
    one.add_argument("--output-format", choices=FORMATS, default="json", help="default json (the transcript file)")
    one.add_argument("--output-dir", type=Path, help="write <stem>.<format> files here instead of to stdout")
    for name in ("data_dir", "model_store_dir", "models_dir"):
        one.add_argument("--" + name.replace("_", "-"), type=Path, default=None, help="as for serve")
    one.add_argument("--beam-size", type=int, default=None, help="as for serve")
    one.add_argument("--cpu-threads", type=int, default=None, help="as for serve")


def _models(settings: Settings, prepare: bool) -> None:
    from emulator.storage.models import ModelStore

    store = ModelStore(settings.effective_model_store_dir(), settings.effective_models_dir())
    for entry in store.entries():
        where = store.resolve(entry.name) if prepare else "(not resolved; --prepare checks it)"
        print(f"{entry.name:10s} languages={','.join(entry.languages):4s} {where}")
    if prepare:
        print(f"{'speaker':10s} diarization {store.speaker_embedding()}")
        print(f"{'segment':10s} diarization {store.speaker_segmentation()}")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k in Settings.model_fields and v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as e:
        error = e.errors()[0]
        _exit(f"invalid setting {'.'.join(map(str, error['loc']))}: {error['msg']}")
    if args.command == "serve":
        from emulator.server import run
        from emulator.startup import StartupError

        try:
            run(settings)  # ends the process itself (status 0) after SIGINT/SIGTERM
        except StartupError as e:
            _exit(str(e))
    elif args.command == "transcribe":
        from emulator import logs
        from emulator.oneshot import Request, run

        logs.configure("warning", "text")
        request = Request(
            language_code=args.language_code,
            channel_identification=args.channel_identification,
            max_speaker_labels=args.max_speaker_labels if args.show_speaker_labels else None,
            output_format=args.output_format,
            output_dir=args.output_dir,
        )
        sys.exit(run(args.files, request, settings))
    elif args.command == "worker":
        from emulator.startup import StartupError
        from emulator.worker_process import run as run_worker

        try:
            run_worker(settings)  # ends the process itself (status 0) after SIGINT/SIGTERM
        except StartupError as e:
            _exit(str(e))
    elif args.command == "models":
        from emulator.storage.models import ModelError

        try:
            _models(settings, args.prepare)
        except ModelError as e:
            _exit(str(e))


def _exit(message: str) -> None:
    """One line on stderr, exit status 2, no traceback: for every error a user can fix."""
    print(f"transcribe-emulator: error: {message}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":  # python -m emulator.cli (the pytest plugin starts it so)
    main()
