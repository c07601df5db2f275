"""What CI can check of the install and the images without a docker engine.

The Dockerfile's install line is the README's; compose pulls only images pinned by digest and
none from Docker Hub's removed `minio/` namespace; the installed environment holds no torch,
CUDA, triton, webrtcvad or librosa/numba (they cost users GBs or a compiler).
"""

from __future__ import annotations

import importlib.metadata
import re

import yaml

from tests.support import REPO

FORBIDDEN = re.compile(r"^(torch|torchaudio|triton|webrtcvad|librosa|numba|llvmlite|resemblyzer|nvidia-.*|cuda-.*)$")


def _readme_install_line() -> str:
    """The install part of the README's run command: `python3 -m venv .venv && ...pip install ...`."""
    readme = (REPO / "README.md").read_text()
    match = re.search(r"^(python3 -m venv \.venv && \.venv/bin/pip install -e \.)( && .*)?$", readme, re.M)
    assert match, "the README's run command is missing"
    return match.group(1)


def _dockerfile_runs() -> list[str]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [" ".join(line.split()[1:]) for line in text.splitlines() if line.startswith("RUN ")]


def test_the_dockerfile_installs_with_the_readmes_line():
    assert _readme_install_line() in _dockerfile_runs()


def test_ci_runs_the_readmes_test_command_which_starts_with_the_install_line():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    tests = re.search(r"^(python3 -m venv .* -m pytest)$", readme, re.M)
    assert tests, "the README's test command is missing"
    assert tests.group(1).startswith(_readme_install_line() + " && ")
    assert tests.group(1) in ci.splitlines()


def test_the_dockerfile_runs_as_a_non_root_user_with_a_healthcheck_and_no_compiler():
    text = (REPO / "Dockerfile").read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/_emulator/health" in text
    assert not re.search(r"apt-get install.*\b(gcc|g\+\+|build-essential|clang)\b", text)
    assert "download.pytorch.org" not in text and "torch" not in " ".join(_dockerfile_runs())


def test_compose_images_are_pinned_by_digest_and_none_come_from_docker_hubs_minio():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    images = {name: service["image"] for name, service in compose["services"].items() if "image" in service}
    assert images, "compose.yaml names no image"
    for name, image in images.items():
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{name}: {image} is not pinned by digest"
        repository = image.split("@")[0].rsplit(":", 1)[0]
        assert not re.match(r"^(docker\.io/)?minio/", repository), f"{name}: {image} is gone from Docker Hub"
    assert all("build" in s or "image" in s for s in compose["services"].values())


def test_the_installed_environment_has_no_torch_cuda_or_compiler_only_packages():
    installed = {dist.metadata["Name"].lower() for dist in importlib.metadata.distributions()}
    assert not sorted(name for name in installed if FORBIDDEN.match(name))


def test_the_project_declares_no_forbidden_dependency():
    requires = importlib.metadata.requires("transcribe-emulator") or []
    names = {re.split(r"[\s;<>=!~\[]", req, maxsplit=1)[0].lower() for req in requires}
    assert not sorted(name for name in names if FORBIDDEN.match(name))
