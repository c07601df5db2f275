"""`transcribe-emulator serve --help` and the README's configuration table list the same flags."""

from __future__ import annotations

import re

from emulator.cli import _parser
from tests.support import REPO


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
