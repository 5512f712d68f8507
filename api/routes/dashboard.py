"""The analysts' dashboard: ``GET /dashboard`` and its static files under ``/dashboard/static``.

The page and its files answer without a key (they hold no data); the page asks for a key
once, keeps it in the browser's localStorage and sends it on every data call
(``Authorization: Bearer``). Everything it shows comes from the public API: the sentiment
index and prices per asset (drawn as SVG by ``dashboard.js``), the latest scored stories,
the current signals with their reliability, the latest briefing, and a chat box that reads
the ``POST /v1/chat`` event stream. Text from documents is untrusted: the script only ever
sets it as text (never as HTML), and the page's Content-Security-Policy allows scripts and
styles from this origin alone.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard() -> FileResponse:
    """The page itself (no key needed: it holds no data)."""
    return FileResponse(
        STATIC_DIR / "dashboard.html",
        media_type="text/html",
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


def install(app: FastAPI) -> None:
    """Serve the page and its script and style sheet."""
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
