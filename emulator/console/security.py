"""Who may use the console, and which form posts it accepts. Plain ASGI middleware.

Login: on a loopback bind (`settings.host` 127.0.0.1, ::1 or localhost, or any other
address of 127.0.0.0/8) the console needs no login, as the emulator's own S3 does not.
On any other bind every console request needs HTTP basic auth with the API credentials
(user = access key, password = secret key); a wrong or missing one answers 401 with
`WWW-Authenticate: Basic`, so browsers ask for them.

CSRF: a signed double-submit token, on every bind (a page on another site can post a
form to 127.0.0.1 just as well; it costs nothing to refuse it there too).
* The token is `<nonce>.<HMAC-SHA256(secret key, "console-csrf:" + nonce)>`, base64url. The
  middleware sets it as the cookie `console_csrf` (HttpOnly, SameSite=Strict, Path=/console)
  when the request has no valid one, and hands it to the pages (`scope["csrf_token"]`),
  which put it into every form as the hidden field `csrf_token` (and scripts send it as
  the header `X-CSRF-Token`).
* Every unsafe request (anything but GET, HEAD, OPTIONS) must carry the same token in the
  header or, for urlencoded forms, in the field; and the cookie must hold it, with a valid
  signature. A site on another origin can neither read the cookie nor set it (it is not
  ours to set, and a cookie planted by a sibling host fails the signature check, which
  needs the emulator's secret key), so it cannot produce the pair.
* Multipart posts (uploads) must send the header: the middleware does not buffer files.
Failures answer 403 with a short text; nothing reaches the page handlers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

CSRF_COOKIE = "console_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_FORM_BYTES = 1024 * 1024  # urlencoded console forms are small; larger ones are refused
REALM = "Transcribe emulator console"
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


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


class CsrfTokens:
    """Makes and checks signed CSRF tokens with the emulator's secret key."""

    def __init__(self, secret: str):
        self._key = hashlib.sha256(b"transcribe-emulator-console:" + secret.encode()).digest()

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
    """ASGI middleware around the console app: basic auth (off loopback) and CSRF (always).

    require_login: ask for basic auth with (access_key, secret_key).
    cookie_path: the path the CSRF cookie is scoped to (where the console is mounted).
    """

    def __init__(self, app, *, access_key: str, secret_key: str, require_login: bool, cookie_path: str = "/console"):
        self.app = app
        self.access_key = access_key
        self.secret_key = secret_key
        self.require_login = require_login
        self.cookie_path = cookie_path
        self.tokens = CsrfTokens(secret_key)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
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

    async def _sent_token(self, scope, receive):
        """(token from the header or the urlencoded body, a receive that replays the body)."""
        header = _header(scope, CSRF_HEADER.encode())
        if header:
            return header, receive
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
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
