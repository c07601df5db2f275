"""The web console: the Amazon Transcribe console's flow, served by the emulator at /console.

`console_routes(runtime, operations)` gives the routes `emulator.app.create_app` adds:
`GET /` redirects browsers to `/console` (`POST /` stays the API), and `/console` and
everything under it is the console behind `ConsoleSecurity` (Host allow-list on loopback,
basic auth off loopback, CSRF on every form, security headers on every answer). The CSRF
key lives in `<data-dir>/console-secret`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from emulator.console.objects import MediaLinks
from emulator.console.routes import BASE, Console, routes
from emulator.console.security import ConsoleSecurity, console_secret, is_loopback, page_csp


def _secured(settings, media: MediaLinks):
    """app -> the app behind ConsoleSecurity, configured from settings (one CSRF key for all)."""
    login_required = not is_loopback(settings.host)
    csrf_key = console_secret(settings.data_dir)

    def secure(app):
        return ConsoleSecurity(
            app,
            bind_host=settings.host,
            access_key=settings.access_key,
            secret_key=settings.secret_key,
            require_login=login_required,
            csrf_key=csrf_key,
            csp=page_csp((media.origin,)),
            cookie_path=BASE,
        )

    return secure, login_required


async def _to_console(request: Request) -> RedirectResponse:
    return RedirectResponse(BASE, status_code=307)


async def _to_jobs(scope, receive, send) -> None:
    await RedirectResponse(f"{BASE}/jobs", status_code=307)(scope, receive, send)


def console_routes(runtime, operations) -> list:
    """`GET /` -> 307 to /console -> 307 to /console/jobs; the console mounted at /console.

    operations: `emulator.app.operation_table(runtime)` (name -> callable(region, params)).
    Raises OSError when the data dir can't hold the console secret."""
    media = MediaLinks.for_settings(runtime.settings, runtime.objects)
    secure, login_required = _secured(runtime.settings, media)
    console = Starlette(routes=routes(Console(runtime, operations, login_required, media)))
    return [
        Route("/", _to_console, methods=["GET"]),
        Route(BASE, secure(_to_jobs), methods=["GET"]),
        Mount(BASE, app=secure(console)),
    ]
