"""`transcribe-emulator serve --help` and the README's configuration table list the same flags;
`transcribe-emulator transcribe` gives a job's transcript file and subtitles with no server."""

from __future__ import annotations

import json
import re
import subprocess
import uuid

import pytest

from emulator.cli import _parser
from tests.support import EMULATOR_BIN, REPO, audio_path, wait_for_job


def _serve_flags() -> set[str]:
    serve = _parser()._subparsers._group_actions[0].choices["serve"]
    return {flag for action in serve._actions for flag in action.option_strings if flag.startswith("--")} - {"--help"}


def _readme_flags() -> set[str]:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("### Start-up checks")]
    rows = [line for line in table.splitlines() if line.startswith("| `--")]
    return {flag for row in rows for flag in re.findall(r"`(--[a-z0-9-]+)`", row.split("|")[1])}


def test_every_serve_flag_is_in_the_readme_and_every_readme_flag_exists():
    assert _serve_flags() == _readme_flags()


def test_help_names_each_flags_environment_variable():
    serve = _parser()._subparsers._group_actions[0].choices["serve"]
    for action in serve._actions:
        if action.option_strings and action.option_strings[0] not in ("-h", "--help"):
            assert "TRANSCRIBE_EMULATOR_" in (action.help or ""), action.option_strings


# --- transcribe-emulator transcribe (emulator/oneshot.py): the real model on a shared clip ---------


def _transcribe_cli(emulator, tmp_path, *args: str) -> subprocess.CompletedProcess:
    """The one-shot command in a subprocess; models come from the session emulator's store (no reassembly)."""
    command = [str(EMULATOR_BIN), "transcribe", *args, "--data-dir", str(tmp_path / "data"),
               "--model-store-dir", str(emulator.data_dir / "model-store")]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_transcribe_prints_the_transcript_file_a_job_writes(emulator, transcribe, upload, tmp_path):
    clip = audio_path("jfk")
    done = _transcribe_cli(emulator, tmp_path, str(clip), "--language-code", "en-US")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["jobName"], document["accountId"], document["status"]) == ("jfk", "000000000000", "COMPLETED")

    name = f"oneshot-{uuid.uuid4().hex[:8]}"
    transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US",
                                       Media={"MediaFileUri": upload("jfk")}, OutputBucketName="media")
    assert wait_for_job(transcribe, name)["TranscriptionJobStatus"] == "COMPLETED"
    job_file = json.loads(emulator.s3().get_object(Bucket="media", Key=f"{name}.json")["Body"].read())
    assert document["results"] == job_file["results"]  # same pipeline, same output code, same words


def test_transcribe_srt_prints_subtitles_and_writes_files_with_output_dir(emulator, tmp_path):
    clip = audio_path("jfk")
    done = _transcribe_cli(emulator, tmp_path, str(clip), "--language-code", "en-US", "--output-format", "srt")
    assert done.returncode == 0, done.stderr
    assert re.match(r"0\n00:00:0\d,\d{3} --> 00:00:\d\d,\d{3}\n\S", done.stdout), done.stdout
    assert "ask not what your country can do for you" in done.stdout.replace("\n", " ").lower()

    out = tmp_path / "out"
    written = _transcribe_cli(emulator, tmp_path, str(clip), str(tmp_path / "missing.wav"),
                              "--language-code", "en-US", "--output-format", "vtt", "--output-dir", str(out))
    assert written.returncode == 1  # one of the two files failed, and said so
    assert "missing.wav" in written.stderr and "Traceback" not in written.stderr
    assert (out / "jfk.vtt").read_text().startswith("WEBVTT")


def test_transcribe_refuses_both_language_options():
    with pytest.raises(SystemExit):
        _parser().parse_args(["transcribe", "a.wav", "--language-code", "en-US", "--identify-language"])
    with pytest.raises(SystemExit):
        _parser().parse_args(["transcribe", "a.wav", "--show-speaker-labels", "--channel-identification"])
