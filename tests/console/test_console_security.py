"""Console login and CSRF, on a non-loopback bind and on loopback; no path leaves the emulator's S3.

The emulator under test here is built in-process (`build_runtime` + `create_app`, real
store, real S3 of the session emulator, real model) and driven over ASGI with Starlette's
TestClient: a server bound to a non-loopback address would be reachable from outside this
machine, and the test rules allow binding 127.0.0.1 only. The middleware reads the bind
address from settings, so `host=192.0.2.10` (TEST-NET-1, never bound) gives the
non-loopback behaviour without opening any socket.
"""

from __future__ import annotations

import base64
import re
import time
import uuid

import pytest
from starlette.testclient import TestClient

from emulator.app import build_runtime, create_app
from emulator.config import Settings

ACCESS_KEY, SECRET_KEY = "console-key", "console-secret"


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


AUTH = basic(ACCESS_KEY, SECRET_KEY)


def in_process_app(emulator, data_dir, host: str):
    settings = Settings(
        host=host,
        data_dir=data_dir,
        s3_endpoint=emulator.s3_endpoint,
        s3_access_key="test",
        s3_secret_key="test",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
    runtime = build_runtime(settings, emulator.s3_endpoint)
    return runtime, create_app(runtime)


def wait_for_preload(runtime, timeout: float = 60) -> None:
    """build_runtime loads the English model on a thread; let it finish before the process
    can exit (CTranslate2 aborts when its loader thread is still running at exit)."""
    deadline = time.monotonic() + timeout
    while not runtime.recognizer.loaded() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture(scope="module")
def remote(emulator, tmp_path_factory):
    """The emulator's app as bound to a non-loopback address."""
    runtime, app = in_process_app(emulator, tmp_path_factory.mktemp("console-remote"), "192.0.2.10")
    yield app
    wait_for_preload(runtime)


@pytest.fixture(scope="module")
def local(emulator, tmp_path_factory):
    runtime, app = in_process_app(emulator, tmp_path_factory.mktemp("console-local"), "127.0.0.1")
    yield app
    wait_for_preload(runtime)


def csrf_token(client: TestClient, path: str, headers=None) -> str:
    page = client.get(path, headers=headers)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_off_loopback_every_console_page_needs_the_credentials(remote):
    client = TestClient(remote)
    for path in ("/console/jobs", "/console/jobs/create", "/console/static/console.css", "/console/s3/buckets"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Basic ")
    assert client.get("/console/jobs", headers=basic(ACCESS_KEY, "wrong")).status_code == 401
    assert client.get("/console/jobs", headers=basic("wrong", SECRET_KEY)).status_code == 401
    assert client.get("/console/jobs", headers={"Authorization": "Basic not-base64!"}).status_code == 401
    page = client.get("/console/jobs", headers=AUTH)
    assert page.status_code == 200 and "Transcription jobs" in page.text


def test_off_loopback_the_api_keeps_sigv4_and_get_root_redirects(remote):
    client = TestClient(remote)
    api = client.post("/", headers={"X-Amz-Target": "Transcribe.ListTranscriptionJobs"}, content=b"{}")
    assert api.status_code == 403 and api.json()["__type"] == "MissingAuthenticationTokenException"
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/console"


def test_forms_need_the_csrf_token_of_their_cookie(remote):
    client = TestClient(remote, headers=AUTH)
    token = csrf_token(client, "/console/vocabularies/create")
    name = f"csrf-{uuid.uuid4().hex[:8]}"
    form = {"VocabularyName": name, "LanguageCode": "en-US", "source": "list", "Phrases": "clubs"}

    assert client.post("/console/vocabularies/create", data=form).status_code == 403  # no token
    assert client.post("/console/vocabularies/create", data={**form, "csrf_token": "x.y"}).status_code == 403

    other = TestClient(remote, headers=AUTH)  # a token from another browser's cookie
    assert other.post("/console/vocabularies/create", data={**form, "csrf_token": token}).status_code == 403

    forged = TestClient(remote, headers=AUTH, cookies={"console_csrf": "abc.def"})
    refused = forged.post("/console/vocabularies/create", data={**form, "csrf_token": "abc.def"})
    assert refused.status_code == 403

    created = client.post("/console/vocabularies/create", data={**form, "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == f"/console/vocabularies/{name}"


def test_uploads_send_the_token_in_a_header(remote):
    client = TestClient(remote, headers=AUTH)
    token = csrf_token(client, "/console/jobs/create")
    files = {"file": ("note.txt", b"hello", "text/plain")}
    data = {"bucket": "console-security", "key": "note.txt"}
    assert client.post("/console/s3/upload", files=files, data=data).status_code == 403
    uploaded = client.post("/console/s3/upload", files=files, data=data, headers={"X-CSRF-Token": token})
    assert uploaded.status_code == 200 and uploaded.json()["uri"] == "s3://console-security/note.txt"
    back = client.get("/console/s3/object", params={"bucket": "console-security", "key": "note.txt"})
    assert back.status_code == 200 and back.content == b"hello"


def test_no_path_reaches_outside_the_emulators_s3(remote):
    client = TestClient(remote, headers=AUTH)
    for bucket, key in (("..", "etc/passwd"), ("console-security", "../../etc/passwd"), ("console-security", "/etc/passwd"),
                        ("/etc", "passwd"), ("console-security", "a/./b"), ("Console-Security", "note.txt")):
        response = client.get("/console/s3/object", params={"bucket": bucket, "key": key})
        assert response.status_code == 400, (bucket, key)
    for path in ("/console/static/../security.py", "/console/static/%2e%2e/security.py", "/console/static/..%2fsecurity.py"):
        response = client.get(path)
        assert response.status_code == 404 and "CsrfTokens" not in response.text, path
    assert client.get("/console/s3/objects", params={"bucket": "../x"}).status_code == 400
    assert client.get("/console/jobs/no-such-job/transcript").status_code == 404


def test_on_loopback_no_login_but_forms_still_need_their_token(local):
    client = TestClient(local)
    page = client.get("/console/jobs")
    assert page.status_code == 200 and "signed in" not in page.text
    form = {"VocabularyFilterName": "x", "LanguageCode": "en-US", "Words": "darn"}
    assert client.post("/console/vocabulary-filters/create", data=form).status_code == 403
    token = csrf_token(client, "/console/vocabulary-filters/create")
    name = f"loopback-{uuid.uuid4().hex[:8]}"
    created = client.post(
        "/console/vocabulary-filters/create",
        data={**form, "VocabularyFilterName": name, "csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code == 303
