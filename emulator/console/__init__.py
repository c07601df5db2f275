"""The web console: the Amazon Transcribe console's flow, served by the emulator at /console.

`console_routes(runtime, operations)` gives the routes `emulator.app.create_app` adds:
`GET /` redirects browsers to `/console` (`POST /` stays the API), and `/console` is the
console app behind `ConsoleSecurity` (basic auth off loopback, CSRF on every form).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from emulator.console.routes import BASE, Console, routes
from emulator.console.security import ConsoleSecurity, is_loopback


def console_app(runtime, operations):
    """The console as an ASGI app, to mount at /console.

    operations: `emulator.app.operation_table(runtime)` (name -> callable(region, params))."""
    from starlette.applications import Starlette

    settings = runtime.settings
    login_required = not is_loopback(settings.host)
    app = Starlette(routes=routes(Console(runtime, operations, login_required)))
    return ConsoleSecurity(
        app,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        require_login=login_required,
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
