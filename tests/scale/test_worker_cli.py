"""`transcribe-emulator worker` and `serve --database-url`: a setting a user can fix is one line
on stderr and exit status 2, before anything starts."""

from __future__ import annotations

import subprocess

from tests.support import EMULATOR_BIN, free_port


def _refused(*args: str, tmp_path) -> str:
    done = subprocess.run([str(EMULATOR_BIN), *args, "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("transcribe-emulator: error: "), done.stderr
    return lines[0]


def test_a_worker_without_an_s3_endpoint_is_refused(tmp_path):
    assert "a worker needs the API nodes' S3: pass --s3-endpoint" in _refused("worker", tmp_path=tmp_path)


def test_an_unreachable_database_is_refused_naming_it_without_its_password(tmp_path):
    port = free_port()
    url = f"postgresql://transcribe:s3cret@127.0.0.1:{port}/transcribe"
    line = _refused("worker", "--database-url", url, "--s3-endpoint", "http://127.0.0.1:1", tmp_path=tmp_path)
    assert f"cannot reach the job store postgresql://transcribe:***@127.0.0.1:{port}/transcribe" in line
    assert "s3cret" not in line and "fix --database-url" in line


def test_an_unsupported_database_url_is_refused(tmp_path):
    line = _refused("serve", "--database-url", "mysql://root@127.0.0.1/x", "--port", str(free_port()),
                    "--s3-endpoint", "http://127.0.0.1:1", tmp_path=tmp_path)
    assert "unsupported database URL mysql://root@127.0.0.1/x" in line
