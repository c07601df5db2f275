"""Console login and CSRF, on a non-loopback bind and on loopback; no path leaves the emulator's S3.
Against the session emulator (real hypercorn, loopback bind): the Host allow-list, the
data dir's CSRF secret, the security headers, how S3 objects are served, the audio
player's redirect to a presigned S3 URL, and malformed transcripts on the job page.

The in-process emulators here is built in-process (`build_runtime` + `create_app`, real
store, real S3 of the session emulator, real model) and driven over ASGI with Starlette's
TestClient: a server bound to a non-loopback address would be reachable from outside this
machine, and the test rules allow binding 127.0.0.1 only. The middleware reads the bind
address from settings, so `host=192.0.2.10` (TEST-NET-1, never bound) gives the
non-loopback behaviour without opening any socket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import socket
import time
import uuid

import httpx
import pytest
from starlette.testclient import TestClient

from emulator.app import build_runtime, create_app
from emulator.config import Settings
from tests.console.browser import wait_for_js
from tests.support import EmulatorProcess, audio_path, wait_for_job

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


def test_off_loopback_any_host_is_answered_but_only_with_the_credentials(remote):
    """The names a LAN or container bind is reached by are unknown; basic auth guards it."""
    client = TestClient(remote, base_url="http://attacker.example")
    assert client.get("/console/jobs").status_code == 401
    page = client.get("/console/jobs", headers=AUTH)
    assert page.status_code == 200 and page.headers["x-frame-options"] == "DENY"


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
    client = TestClient(local, base_url="http://127.0.0.1")  # TestClient's own "testserver" is no loopback name
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


def test_on_loopback_a_host_that_is_no_loopback_name_is_refused(local):
    assert TestClient(local).get("/console/jobs").status_code == 403  # Host: testserver
    assert TestClient(local, base_url="http://localhost:8080").get("/console/jobs").status_code == 200


# --- against the session emulator (real server, loopback bind) ---------------------------------

BUCKET = "console-hardening"
ATTACKER_HOSTS = ("attacker.example", "attacker.example:80", "127.0.0.1.attacker.example", "localhost.attacker.example:8080",
                  "0x7f.1", "localhost:notaport")
PAGE_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def token_of(client: httpx.Client, path: str = "/console/vocabulary-filters/create") -> str:
    """The CSRF token of `client`'s console cookie, from a form page (the cookie stays in the client)."""
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def old_derivation_token(secret_key: str, nonce: str) -> str:
    """A token as the console made them before its key came from the data dir: HMAC keyed by
    sha256("transcribe-emulator-console:" + the API secret key), public by default ("test")."""
    key = hashlib.sha256(b"transcribe-emulator-console:" + secret_key.encode()).digest()
    return f"{nonce}.{signed(key, nonce)}"


def signed(key: bytes, nonce: str) -> str:
    mac = hmac.new(key, b"console-csrf:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


@pytest.fixture(scope="module")
def finished_job(emulator, transcribe, s3):
    """A COMPLETED job on a 1 s clip whose transcript is in BUCKET (so tests can rewrite it):
    (job, transcript key, media bytes)."""
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    media = audio_path("cards_001").read_bytes()
    s3.put_object(Bucket=BUCKET, Key="clip.wav", Body=media)
    name = f"console-hardening-{uuid.uuid4().hex[:8]}"
    key = f"out/{name}.json"
    transcribe.start_transcription_job(
        TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": f"s3://{BUCKET}/clip.wav"},
        OutputBucketName=BUCKET, OutputKey=key,
    )
    job = wait_for_job(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    s3.head_object(Bucket=BUCKET, Key=key)
    return job, key, media


def test_console_refuses_foreign_host_headers(emulator, s3, finished_job):
    """DNS rebinding: a page on attacker.example re-pointed at 127.0.0.1 sends its own Host."""
    job = finished_job[0]["TranscriptionJobName"]
    paths = ("/console", "/console/", "/console/jobs", "/console/jobs/create", f"/console/jobs/{job}", f"/console/jobs/{job}/transcript",
             f"/console/jobs/{job}/media", "/console/static/console.js", "/console/s3/buckets",
             f"/console/s3/object?bucket={BUCKET}&key=clip.wav", "/console/vocabularies")
    for host in ATTACKER_HOSTS:
        for path in paths:
            response = httpx.get(emulator.endpoint + path, headers={"Host": host})
            assert response.status_code == 403, (host, path)
            assert "RIFF" not in response.text and "console_csrf" not in response.headers.get("set-cookie", "")
        posted = httpx.post(emulator.endpoint + "/console/vocabulary-filters/create", headers={"Host": host},
                            data={"VocabularyFilterName": "x", "LanguageCode": "en-US", "Words": "darn"})
        assert posted.status_code == 403
    port = emulator.port
    for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}", "127.0.0.2"):
        response = httpx.get(emulator.endpoint + f"/console/s3/object?bucket={BUCKET}&key=clip.wav", headers={"Host": host})
        assert response.status_code == 200 and response.content == finished_job[2], host
    assert httpx.get(emulator.endpoint + "/console/jobs", headers={"Host": f"LOCALHOST:{port}"}).status_code == 200


def test_console_refuses_a_request_without_host(emulator):
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        sock.sendall(b"GET /console/jobs HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"403", answer[:200]


def test_the_api_and_health_do_not_check_the_host(emulator):
    """The allow-list is the console's: SDKs may name the emulator by any host."""
    assert httpx.get(emulator.endpoint + "/_emulator/health", headers={"Host": "transcribe.internal"}).status_code == 200
    api = httpx.post(emulator.endpoint + "/", content=b"{}", headers={
        "Host": "transcribe.internal", "X-Amz-Target": "Transcribe.ListTranscriptionJobs",
        "Content-Type": "application/x-amz-json-1.1"})
    assert api.json()["__type"] == "MissingAuthenticationTokenException"  # SigV4's answer, not the console's


def test_csrf_key_is_random_per_data_dir_private_and_survives_a_restart(emulator, tmp_path):
    process = EmulatorProcess(tmp_path / "data", extra_args=["--lazy-models"]).start()
    secret_file = process.data_dir / "console-secret"
    try:
        first = secret_file.read_text()
        assert re.fullmatch(r"[0-9a-f]{64}\n", first), first
        assert secret_file.stat().st_mode & 0o777 == 0o600
        with httpx.Client(base_url=process.endpoint) as browser:
            token = token_of(browser)
            cookie = browser.cookies["console_csrf"]
    finally:
        process.stop()
    process.start()
    try:
        assert secret_file.read_text() == first
        assert secret_file.stat().st_mode & 0o777 == 0o600
        # The page a user had open before the restart still posts.
        name = f"restart-{uuid.uuid4().hex[:8]}"
        created = httpx.post(
            process.endpoint + "/console/vocabulary-filters/create", cookies={"console_csrf": cookie},
            data={"VocabularyFilterName": name, "LanguageCode": "en-US", "Words": "darn", "csrf_token": token},
        )
        assert created.status_code == 303 and created.headers["location"] == f"/console/vocabulary-filters/{name}"
    finally:
        process.stop()
    assert (emulator.data_dir / "console-secret").read_text() != first  # another data dir, another key


def test_a_pair_forged_with_the_old_derivation_is_refused(emulator):
    form = {"VocabularyFilterName": f"forged-{uuid.uuid4().hex[:8]}", "LanguageCode": "en-US", "Words": "darn"}
    url = emulator.endpoint + "/console/vocabulary-filters/create"
    forged = old_derivation_token("test", "attacker-nonce")  # the emulator's default secret key
    refused = httpx.post(url, cookies={"console_csrf": forged}, data={**form, "csrf_token": forged})
    assert refused.status_code == 403 and "CSRF" in refused.text
    refused = httpx.post(url, cookies={"console_csrf": forged}, data=form, headers={"X-CSRF-Token": forged})
    assert refused.status_code == 403
    # The same construction with the data dir's key is what the console accepts: only the key differs.
    key = bytes.fromhex((emulator.data_dir / "console-secret").read_text())
    genuine = f"attacker-nonce.{signed(key, 'attacker-nonce')}"
    accepted = httpx.post(url, cookies={"console_csrf": genuine}, data={**form, "csrf_token": genuine})
    assert accepted.status_code == 303


def test_every_console_answer_has_the_security_headers(emulator, finished_job):
    job = finished_job[0]["TranscriptionJobName"]
    paths = ("/console", "/console/jobs", "/console/jobs/rows", "/console/jobs/create", "/console/medical-jobs", f"/console/jobs/{job}",
             f"/console/jobs/{job}/status", f"/console/jobs/{job}/transcript", "/console/jobs/no-such-job",
             "/console/vocabularies", "/console/vocabularies/create", "/console/vocabulary-filters",
             "/console/vocabulary-filters/create", "/console/language-models", "/console/language-models/create",
             "/console/static/console.css", "/console/static/console.js", "/console/static/missing.js",
             "/console/s3/buckets", f"/console/s3/objects?bucket={BUCKET}", "/console/s3/object?bucket=..&key=x")
    with httpx.Client(base_url=emulator.endpoint) as client:
        answers = [client.get(path) for path in paths]
        answers.append(client.post("/console/vocabularies/create", data={"VocabularyName": "x"}))  # CSRF refusal
        answers.append(client.get("/console/jobs", headers={"Host": "attacker.example"}))  # Host refusal
    for response in answers:
        where = (response.request.method, response.request.url.path, response.status_code)
        assert response.status_code < 500, where
        for name, value in PAGE_HEADERS.items():
            assert response.headers.get(name) == value, (where, name)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp, where
        assert "frame-ancestors 'none'" in csp or "sandbox" in csp, where
    page = answers[0].headers["content-security-policy"]
    assert "script-src 'self';" in page and "style-src 'self';" in page and "'unsafe-inline'" not in page
    assert f"media-src 'self' {emulator.endpoint};" in page  # the player's redirect target (the API port)


def test_pages_carry_no_inline_script_or_style(emulator, finished_job):
    """What the CSP would block: <script> bodies, style attributes, on* handlers, <style>."""
    job = finished_job[0]["TranscriptionJobName"]
    for path in ("/console/jobs", "/console/jobs/create", f"/console/jobs/{job}", "/console/vocabularies/create",
                 "/console/medical-jobs/create", "/console/language-models/create"):
        html = httpx.get(emulator.endpoint + path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html), path


def test_an_uploaded_html_object_is_never_served_as_html(emulator, transcribe, finished_job):
    with httpx.Client(base_url=emulator.endpoint) as client:
        token = token_of(client, "/console/jobs/create")
        page = b"<html><script>fetch('/console/s3/buckets')</script></html>"
        uploaded = client.post("/console/s3/upload", headers={"X-CSRF-Token": token},
                               files={"file": ("page.html", page, "text/html")}, data={"bucket": BUCKET, "key": "page.html"})
        assert uploaded.status_code == 200
        served = client.get("/console/s3/object", params={"bucket": BUCKET, "key": "page.html"})
    assert served.status_code == 200 and served.content == page
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; media-src 'self'; sandbox"

    # The same object as a job's media: the player's redirect makes S3 answer it as a download.
    name = f"html-media-{uuid.uuid4().hex[:8]}"
    transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US", MediaFormat="wav",
                                       Media={"MediaFileUri": f"s3://{BUCKET}/page.html"})
    redirect = httpx.get(emulator.endpoint + f"/console/jobs/{name}/media")
    assert redirect.status_code == 307
    from_s3 = httpx.get(redirect.headers["location"])
    assert from_s3.status_code == 200 and from_s3.content == page
    assert from_s3.headers["content-type"] == "application/octet-stream"
    assert from_s3.headers["content-disposition"].startswith("attachment;")
    wait_for_job(transcribe, name)


def test_the_player_is_redirected_to_a_presigned_s3_url_that_serves_ranges(emulator, finished_job):
    job, _, media = finished_job
    redirect = httpx.get(emulator.endpoint + f"/console/jobs/{job['TranscriptionJobName']}/media")
    assert redirect.status_code == 307
    location = redirect.headers["location"]
    assert location.startswith(f"{emulator.endpoint}/{BUCKET}/clip.wav?")  # the API port passes S3 on and "X-Amz-Signature=" in location
    part = httpx.get(location, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == media[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(media)}"
    assert part.headers["content-type"] in ("audio/x-wav", "audio/wav")
    assert part.headers["content-disposition"] == 'inline; filename="clip.wav"'
    tail = httpx.get(location, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == media[-10:]
    assert httpx.get(emulator.endpoint + "/console/jobs/no-such-job/media").status_code == 404


MALFORMED = {
    "not JSON": b"{this is not json",
    "not UTF-8": b"\xff\xfe{\x00}",
    "a JSON list": b"[1, 2, 3]",
    "a JSON string": b'"transcript"',
    "no results": b'{"jobName": "x", "status": "COMPLETED"}',
    "results a string": b'{"results": "none"}',
    "items not a list": b'{"results": {"transcripts": [{"transcript": "a"}], "items": {"0": 1}}}',
    "an item a string": b'{"results": {"transcripts": [{"transcript": "a"}], "items": ["a"]}}',
    "alternatives a string": b'{"results": {"items": [{"start_time": "0.1", "end_time": "0.2", "alternatives": "a"}]}}',
    "content a list": b'{"results": {"items": [{"start_time": "0.1", "end_time": "0.2", "alternatives": [{"content": [1]}]}]}}',
    "a time that is a word": b'{"results": {"items": [{"start_time": "soon", "end_time": "0.2", "alternatives": [{"content": "a"}]}]}}',
    "a time that is an object": b'{"results": {"items": [{"start_time": {"s": 1}, "alternatives": [{"content": "a"}]}]}}',
    "a huge float": b'{"results": {"items": [{"start_time": 1e999, "end_time": 1e999, "alternatives": [{"content": "a"}]}]}}',
    "a huge integer": b'{"results": {"items": [{"start_time": 1' + b"0" * 400 + b', "end_time": 2, "alternatives": [{"content": "a"}]}]}}',
    "NaN": b'{"results": {"items": [{"start_time": NaN, "end_time": 1, "alternatives": [{"content": "a"}]}]}}',
    "a negative time": b'{"results": {"items": [{"start_time": "-5", "end_time": "1", "alternatives": [{"content": "a"}]}]}}',
    "a speaker label that is a number": b'{"results": {"items": [{"start_time": "0", "end_time": "1", "speaker_label": 3, "alternatives": [{"content": "a"}]}]}}',
    "transcripts a number": b'{"results": {"transcripts": 5, "items": []}}',
    "segment items that are words": b'{"results": {"items": [{"start_time": "0", "end_time": "1", "alternatives": [{"content": "a"}]}], "audio_segments": [{"items": ["a"]}]}}',
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
}


def test_malformed_transcripts_give_an_error_panel_not_a_500(emulator, s3, finished_job):
    job, key, _ = finished_job
    name = job["TranscriptionJobName"]
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    try:
        for shape, body in MALFORMED.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            page = httpx.get(emulator.endpoint + f"/console/jobs/{name}")
            assert page.status_code == 200, (shape, page.status_code, page.text[:300])
            panel = re.search(r'<section class="panel" id="preview">(.*?)</section>', page.text, re.S)
            assert panel and 'class="alert alert-error"' in panel.group(1), shape
            assert "can&#39;t be read" in panel.group(1) and f"s3://{BUCKET}/{key}" in panel.group(1), shape
            assert 'id="transcript-preview"' not in page.text, shape
            download = httpx.get(emulator.endpoint + f"/console/jobs/{name}/transcript")
            assert download.status_code == 200 and download.content == body, shape
    finally:
        s3.put_object(Bucket=BUCKET, Key=key, Body=original)
    page = httpx.get(emulator.endpoint + f"/console/jobs/{name}")
    assert page.status_code == 200 and 'id="transcript-preview"' in page.text and "alert-error" not in page.text


def test_the_job_page_works_in_a_browser_under_its_csp(console, screenshot, finished_job):
    """Timeline spans placed by the script (no inline styles), the player fed through the
    redirect to S3 (media-src), no CSP violation (the `console` fixture fails on any)."""
    page = console
    page.goto(f"/console/jobs/{finished_job[0]['TranscriptionJobName']}")
    page.locator("#transcript-preview").wait_for()
    spans = page.locator("#timeline .span")
    assert spans.count() >= 1
    assert spans.first.evaluate("el => el.style.width.endsWith('%') && el.getBoundingClientRect().width > 0")
    wait_for_js(page, "document.getElementById('player').readyState >= 1")
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(1.095, abs=0.1)
    assert page.evaluate("document.getElementById('player').currentSrc").endswith("/media")
    screenshot(page, "job-under-csp")
