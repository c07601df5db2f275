"""Pure parts of the console's security and S3 access: loopback, basic auth, CSRF tokens,
bucket and key checks, byte ranges."""

from __future__ import annotations

import base64

import pytest

from emulator.console import objects
from emulator.console.routes import _byte_range, job_duration
from emulator.console.security import (
    CsrfTokens,
    HostAllowList,
    check_basic_auth,
    console_secret,
    host_name,
    is_loopback,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "LOCALHOST", "127.0.0.2"])
def test_loopback_binds(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "10.0.0.5", "example.com", ""])
def test_other_binds(host):
    assert not is_loopback(host)


def test_basic_auth():
    header = "Basic " + base64.b64encode(b"AKID:s3cr:et").decode()
    assert check_basic_auth(header, "AKID", "s3cr:et")
    assert not check_basic_auth(header, "AKID", "other")
    assert not check_basic_auth(None, "AKID", "s3cr:et")
    assert not check_basic_auth("Bearer x", "AKID", "s3cr:et")
    assert not check_basic_auth("Basic %%%", "AKID", "s3cr:et")
    assert not check_basic_auth("Basic " + base64.b64encode(b"AKID").decode(), "AKID", "")


def test_csrf_tokens_are_signed_with_the_secret():
    tokens = CsrfTokens(b"secret")
    token = tokens.new()
    assert tokens.valid(token) and token != tokens.new()
    assert not CsrfTokens(b"another secret").valid(token)
    nonce, signature = token.split(".")
    assert not tokens.valid(f"{nonce}x.{signature}")
    assert not tokens.valid(None) and not tokens.valid("") and not tokens.valid("a.b.c")


@pytest.mark.parametrize("bucket", ["media", "my.bucket-1", "abc"])
def test_good_buckets(bucket):
    assert objects.check_bucket(bucket) == bucket


@pytest.mark.parametrize("bucket", ["", "ab", "..", "Media", "-media", "me/dia", "a..b", "x" * 64, "/etc"])
def test_bad_buckets(bucket):
    with pytest.raises(objects.BadLocation):
        objects.check_bucket(bucket)


@pytest.mark.parametrize("key", ["a.wav", "folder/a.wav", "a b/ü.flac", "..a/b", "a/...."])
def test_good_keys(key):
    assert objects.check_key(key) == key


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "..", "a\x00b", "x" * 1025])
def test_bad_keys(key):
    with pytest.raises(objects.BadLocation):
        objects.check_key(key)


def test_byte_ranges():
    assert _byte_range(None, 100) is None
    assert _byte_range("bytes=0-", 100) == (0, 99)
    assert _byte_range("bytes=10-19", 100) == (10, 19)
    assert _byte_range("bytes=90-200", 100) == (90, 99)
    assert _byte_range("bytes=-10", 100) == (90, 99)
    assert _byte_range("bytes=100-", 100) == "unsatisfiable"
    assert _byte_range("bytes=0-1,5-6", 100) is None
    assert _byte_range("items=0-1", 100) is None


def test_job_duration():
    assert job_duration({"StartTime": 10.0, "CompletionTime": 75.5, "TranscriptionJobStatus": "COMPLETED"}) == "1 min 5 s"
    assert job_duration({"StartTime": 10.0, "TranscriptionJobStatus": "FAILED"}) == "-"
    assert job_duration({"TranscriptionJobStatus": "QUEUED"}) == "-"


@pytest.mark.parametrize(
    "header, name",
    [("localhost:8080", "localhost"), ("127.0.0.1", "127.0.0.1"), ("[::1]:80", "::1"), ("[::1]", "::1"),
     ("Example.COM", "example.com"), (None, None), ("", None), ("a:b", None), ("[::1", None), ("[::1]x", None), (":80", None)],
)
def test_host_names(header, name):
    assert host_name(header) == name


def test_host_allow_list_on_loopback():
    hosts = HostAllowList("127.0.0.1")
    for header in ("127.0.0.1", "127.0.0.1:1", "localhost", "LocalHost:8080", "[::1]:8080", "127.9.9.9"):
        assert hosts.allows(header), header
    for header in (None, "", "attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example", "0x7f000001",
                   "192.168.1.2", "[::1]x"):
        assert not hosts.allows(header), header
    assert HostAllowList("localhost").allows("localhost:1") and not HostAllowList("localhost").allows("example.com")


def test_host_allow_list_off_loopback_takes_any_host_behind_basic_auth():
    for bind in ("0.0.0.0", "::", "192.0.2.10", "myhost.lan"):
        assert HostAllowList(bind).allows("attacker.example") and HostAllowList(bind).allows(None)


def test_console_secret_is_made_once_private_and_replaced_when_damaged(tmp_path):
    key = console_secret(tmp_path)
    path = tmp_path / "console-secret"
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert console_secret(tmp_path) == key and console_secret(tmp_path / "other") != key
    path.chmod(0o644)
    assert console_secret(tmp_path) == key and path.stat().st_mode & 0o777 == 0o600
    path.write_text("abc")
    fresh = console_secret(tmp_path)
    assert fresh != key and len(fresh) == 32 and path.stat().st_mode & 0o777 == 0o600


def test_media_links_point_at_the_public_s3_endpoint_with_typed_answers():
    from emulator.config import Settings
    from emulator.storage.s3 import ObjectStore

    settings = Settings(s3_public_endpoint="https://s3.example.test:9443")
    store = ObjectStore("http://127.0.0.1:1", "key", "secret", public_endpoint=settings.s3_public_endpoint)
    links = objects.MediaLinks.for_settings(settings, store)
    assert links.origin == "https://s3.example.test:9443"
    audio = links.url(objects.Location("media", "talks/a b.mp3"))
    assert audio.startswith("https://s3.example.test:9443/media/talks/a%20b.mp3?") and "X-Amz-Signature=" in audio
    assert "response-content-type=audio%2Fmpeg" in audio and "inline%3B%20filename%3D%22a_b.mp3%22" in audio
    page = links.url(objects.Location("media", "page.html"), media_format="mp3")  # an extension wins over MediaFormat
    assert "response-content-type=application%2Foctet-stream" in page and "attachment%3B" in page
    bare = links.url(objects.Location("media", "recording"), media_format="flac")
    assert "response-content-type=audio%2Fflac" in bare


@pytest.mark.parametrize(
    "key, served",
    [("t.json", "application/json"), ("s.vtt", "text/vtt; charset=utf-8"), ("s.srt", "application/x-subrip; charset=utf-8"),
     ("a.txt", "text/plain; charset=utf-8"), ("a.flac", "audio/flac"), ("p.html", "application/octet-stream"),
     ("p.htm", "application/octet-stream"), ("i.svg", "application/octet-stream"), ("x.xml", "application/octet-stream"),
     ("s.js", "application/octet-stream"), ("noextension", "application/octet-stream")],
)
def test_downloads_are_never_typed_as_something_a_browser_runs(key, served):
    assert objects.content_type_for(key) == served
