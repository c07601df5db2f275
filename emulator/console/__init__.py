"""The web console: the Amazon Transcribe console's flow, served by the emulator at /console.

`console_routes(runtime, operations)` gives the routes `emulator.app.create_app` adds:
`GET /` redirects browsers to `/console` (`POST /` stays the API), and `/console` is the
console app behind `ConsoleSecurity` (Host allow-list on loopback, basic auth off
loopback, CSRF on every form, security headers on every answer). The CSRF key lives in
`<data-dir>/console-secret`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from emulator.console.routes import BASE, Console, routes
from emulator.console.objects import MediaLinks
from emulator.console.security import ConsoleSecurity, console_secret, is_loopback, page_csp


def console_app(runtime, operations):
    """The console as an ASGI app, to mount at /console.

    operations: `emulator.app.operation_table(runtime)` (name -> callable(region, params))."""
    from starlette.applications import Starlette

    settings = runtime.settings
    login_required = not is_loopback(settings.host)
    media = MediaLinks.for_settings(settings, runtime.objects)
    app = Starlette(routes=routes(Console(runtime, operations, login_required, media)))
    return ConsoleSecurity(
        app,
        bind_host=settings.host,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        require_login=login_required,
        csrf_key=console_secret(settings.data_dir),
        csp=page_csp((media.origin,)),
        cookie_path=BASE,
    )


async def _to_console(request: Request) -> RedirectResponse:
    return RedirectResponse(BASE, status_code=307)


async def _to_jobs(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{BASE}/jobs", status_code=307)


def console_routes(runtime, operations) -> list:
    """`GET /` -> 307 to /console -> 307 to /console/jobs; the console mounted at /console."""
    return [
        Route("/", _to_console, methods=["GET"]),
        Route(BASE, _to_jobs, methods=["GET"]),
        Mount(BASE, app=console_app(runtime, operations)),
    ]
