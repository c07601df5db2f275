"""Who may use the console, which Host it answers, which form posts it accepts, and the
security headers of every answer. Plain ASGI middleware.

Host (against DNS rebinding: a page on attacker.example whose name is re-pointed at
127.0.0.1 would otherwise read the console as its own origin): on a loopback bind the
console answers only requests whose `Host` is a loopback name (`localhost`, `127.0.0.1`
or any other 127.0.0.0/8 address, `[::1]`), or the configured `--host`, with any port;
anything else, a missing Host included, is 403. On a non-loopback bind (`0.0.0.0`, `::`,
a LAN address or name) any Host is accepted: the names users reach it by are not known
here, and every request there needs basic auth, which a rebinding page does not have.

Login: on a loopback bind (`settings.host` 127.0.0.1, ::1 or localhost, or any other
address of 127.0.0.0/8) the console needs no login, as the emulator's own S3 does not.
On any other bind every console request needs HTTP basic auth with the API credentials
(user = access key, password = secret key); a wrong or missing one answers 401 with
`WWW-Authenticate: Basic`, so browsers ask for them.

CSRF: a signed double-submit token, on every bind (a page on another site can post a
form to 127.0.0.1 just as well; it costs nothing to refuse it there too).
* The token is `<nonce>.<HMAC-SHA256(key, "console-csrf:" + nonce)>`, base64url. The key
  is 32 random bytes made once per data dir (`secrets`) and kept in
  `<data-dir>/console-secret` (hex, mode 0600), so tokens survive a restart; it is not
  derived from the API's secret key, whose default ("test") is public. The
  middleware sets it as the cookie `console_csrf` (HttpOnly, SameSite=Strict, Path=/console)
  when the request has no valid one, and hands it to the pages (`scope["csrf_token"]`),
  which put it into every form as the hidden field `csrf_token` (and scripts send it as
  the header `X-CSRF-Token`).
* Every unsafe request (anything but GET, HEAD, OPTIONS) must carry the same token in the
  header or, for urlencoded forms, in the field; and the cookie must hold it, with a valid
  signature. A site on another origin can neither read the cookie nor set it (it is not
  ours to set, and a cookie planted by a sibling host fails the signature check, which
  needs the data dir's console secret), so it cannot produce the pair.
* Multipart posts (uploads) send the header, or the field as the body's first part (a file
  form without scripts): the middleware reads at most MAX_MULTIPART_HEAD bytes for it and
  never buffers the files.
Failures answer 403 with a short text; nothing reaches the page handlers.

Headers: every answer (pages, JSON, static files, the 401/403 above) gets
`Content-Security-Policy` (`page_csp`: scripts, styles, fetches only from the console's
own origin; media also from the S3 endpoint the player is redirected to;
`frame-ancestors 'none'`), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`
and `Referrer-Policy: no-referrer`, unless the handler set its own (file downloads set a
stricter CSP).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

CSRF_COOKIE = "console_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_FORM_BYTES = 1024 * 1024  # urlencoded console forms are small; larger ones are refused
# A multipart form (a file upload without scripts) carries its token as its first field; no
# more than this much of the body is read before the token must have been seen.
MAX_MULTIPART_HEAD = 64 * 1024
REALM = "Transcribe emulator console"
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
SECRET_FILE = "console-secret"  # in the data dir: the CSRF key, hex, mode 0600
SECRET_BYTES = 32


def is_loopback(host: str) -> bool:
    """True when `host` (the address the server binds) is reachable only from this machine."""
    host = host.strip().strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_basic_auth(authorization: str | None, access_key: str, secret_key: str) -> bool:
    """True when the `Authorization` header is `Basic base64(access_key:secret_key)`."""
    if not authorization:
        return False
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    # Both compared, whatever the first gives, so timing tells nothing of which was wrong.
    user_ok = hmac.compare_digest(user.encode(), access_key.encode())
    password_ok = hmac.compare_digest(password.encode(), secret_key.encode())
    return bool(sep) and user_ok and password_ok


def host_name(header: str | None) -> str | None:
    """The name of a `Host` header without its port, lowercased, IPv6 without brackets:
    `localhost:8080` -> `localhost`, `[::1]:80` -> `::1`; None when absent or malformed."""
    if not header:
        return None
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name or None
    name, colon, port = header.partition(":")
    if colon and not port.isdigit():
        return None
    return name or None


class HostAllowList:
    """Which `Host` headers the console answers (see the module docstring).

    bind_host: `settings.host`, the address the server binds."""

    def __init__(self, bind_host: str):
        self.any_host = not is_loopback(bind_host)
        self.configured = bind_host.strip().strip("[]").lower()

    def allows(self, header: str | None) -> bool:
        if self.any_host:
            return True
        name = host_name(header)
        if name is None:
            return False
        return name == self.configured or name == "localhost" or _is_loopback_address(name)


def _is_loopback_address(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def console_secret(data_dir: Path) -> bytes:
    """The CSRF key of this data dir: SECRET_BYTES random bytes, made with `secrets` on first
    use and kept as hex in `<data_dir>/console-secret` (mode 0600, tightened if looser); read
    back after a restart. A file that is not such a key (edited, emptied) is replaced.
    Raises OSError when the data dir can't be written."""
    path = Path(data_dir) / SECRET_FILE
    for _ in range(3):
        key = _read_key(path)
        if key is not None:
            return key
        _publish_new_key(path)  # then read back what was published: ours, or another process's
    raise OSError(f"{path}: could not create the console secret")


def _read_key(path: Path) -> bytes | None:
    """The key in `path`; None when there is none (a damaged file is removed)."""
    try:
        key = bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        return None
    except ValueError:
        key = b""
    if len(key) != SECRET_BYTES:
        path.unlink(missing_ok=True)
        return None
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return key


def _publish_new_key(path: Path) -> None:
    """Writes a fresh key to a private temporary file and links it to `path`, so `path`
    appears complete or not at all; another process's key linked first wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_bytes(SECRET_BYTES).hex() + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: rename, as atomic, last one wins
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def page_csp(media_origins: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy of console pages; `media_origins`: scheme://host:port of
    the S3 endpoints the audio player is redirected to."""
    media = " ".join(("'self'", *media_origins))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; media-src {media}; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


class CsrfTokens:
    """Makes and checks signed CSRF tokens with `key` (`console_secret(data_dir)`)."""

    def __init__(self, key: bytes):
        self._key = key

    def _signature(self, nonce: str) -> str:
        mac = hmac.new(self._key, b"console-csrf:" + nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def new(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._signature(nonce)}"

    def valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 1:
            return False
        nonce, signature = token.split(".")
        return bool(nonce) and hmac.compare_digest(signature, self._signature(nonce))


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no token
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


async def _plain(send, status: int, text: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ConsoleSecurity:
    """ASGI middleware around the console app: Host allow-list (on loopback), basic auth
    (off loopback), CSRF (always), security headers (always).

    bind_host: `settings.host`; require_login: ask for basic auth with (access_key, secret_key);
    csrf_key: `console_secret(data_dir)`; csp: `page_csp(...)`;
    cookie_path: the path the CSRF cookie is scoped to (where the console is mounted).
    """

    def __init__(
        self, app, *, bind_host: str, access_key: str, secret_key: str, require_login: bool, csrf_key: bytes,
        csp: str, cookie_path: str = "/console",
    ):
        self.app = app
        self.hosts = HostAllowList(bind_host)
        self.access_key = access_key
        self.secret_key = secret_key
        self.require_login = require_login
        self.cookie_path = cookie_path
        self.tokens = CsrfTokens(csrf_key)
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = self._with_headers(send)
        if not self.hosts.allows(_header(scope, b"host")):
            return await _plain(send, 403, "This console answers only requests for localhost or 127.0.0.1 (Host header refused).")
        if self.require_login and not check_basic_auth(_header(scope, b"authorization"), self.access_key, self.secret_key):
            challenge = f'Basic realm="{REALM}", charset="UTF-8"'.encode()
            return await _plain(send, 401, "Sign in with the emulator's access key and secret key.", [(b"www-authenticate", challenge)])

        cookie_token = _cookie(scope, CSRF_COOKIE)
        fresh = None
        if not self.tokens.valid(cookie_token):
            cookie_token = fresh = self.tokens.new()
        scope["csrf_token"] = cookie_token

        if scope["method"] not in SAFE_METHODS:
            if fresh is not None:
                return await _plain(send, 403, "CSRF check failed: no console cookie. Reload the page and try again.")
            sent, receive = await self._sent_token(scope, receive)
            if sent is None or not hmac.compare_digest(sent, cookie_token):
                return await _plain(send, 403, "CSRF check failed: the form is stale or came from another site. Reload the page and try again.")

        if fresh is None:
            return await self.app(scope, receive, send)

        cookie = (
            f"{CSRF_COOKIE}={fresh}; Path={self.cookie_path}; HttpOnly; SameSite=Strict"
        ).encode()

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return await self.app(scope, receive, send_with_cookie)

    def _with_headers(self, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                added = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        return send_with_headers

    async def _sent_token(self, scope, receive):
        """(token from the header or the urlencoded body, a receive that replays the body)."""
        header = _header(scope, CSRF_HEADER.encode())
        if header:
            return header, receive
        full_type = _header(scope, b"content-type") or ""
        content_type = full_type.split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            return await _multipart_token(full_type, receive)
        if content_type != "application/x-www-form-urlencoded":
            return None, receive
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None, receive
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_FORM_BYTES:
                return None, receive
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return (values[0] if values else None), replay


def first_multipart_field(head: bytes, boundary: bytes) -> tuple[str, str] | None:
    """(name, value) of the first part of a multipart/form-data body whose start is `head`,
    when it is a plain field (no filename) and complete in `head`; else None."""
    opening = b"--" + boundary + b"\r\n"
    if not head.startswith(opening):
        return None
    headers, found, rest = head[len(opening):].partition(b"\r\n\r\n")
    if not found:
        return None
    value, found, _ = rest.partition(b"\r\n--" + boundary)
    if not found:
        return None
    disposition = next(
        (line for line in headers.decode("latin-1").split("\r\n") if line.lower().startswith("content-disposition:")), ""
    )
    name = re.search(r';\s*name="([^"]*)"', disposition)
    if name is None or re.search(r";\s*filename\*?=", disposition):
        return None
    return name.group(1), value.decode("utf-8", "replace")


async def _multipart_token(content_type: str, receive):
    """(the csrf_token field when it is the body's first part, a receive that replays what was
    read): reads at most MAX_MULTIPART_HEAD bytes, so a large upload streams on untouched."""
    boundary = re.search(r';\s*boundary="?([^";]+)"?', content_type)
    if boundary is None:
        return None, receive
    marker = boundary.group(1).encode("latin-1")
    chunks, more, token = [], True, None
    while more and sum(map(len, chunks)) <= MAX_MULTIPART_HEAD:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
        field = first_multipart_field(b"".join(chunks), marker)
        if field is not None:
            token = field[1] if field[0] == CSRF_FIELD else None
            break
    head, replayed = b"".join(chunks), False

    async def replay():
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": head, "more_body": more}
        return await receive()

    return token, replay
