"""MCP over streamable HTTP at ``/mcp``, under the API and behind its keys.

The SDK's transport (stateless: every request stands alone, so any worker can answer it)
is wrapped in a guard that applies the API's own key check (:mod:`api.auth`): no key or an
unknown one is the same 401 problem as on every route, a key without the ``read`` scope
the same 403, and the per-key rate limit counts MCP requests too. The transport's session
manager runs inside the API's lifespan (:func:`api.app.create_app`).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from mcp.server import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.service import Agent
from api.agent_deps import agent_of
from api.auth import authorize
from api.deps import Services
from api.mcp.server import build_server
from api.problems import problem
from core.settings import Settings

log = logging.getLogger(__name__)

PATH = "/mcp"
SCOPE = "read"


class KeyGuard:
    """An ASGI wrapper: the API's key check (scope ``read``) before the MCP transport."""

    def __init__(self, app: ASGIApp, scope: str = SCOPE) -> None:
        self.app = app
        self.scope = scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        services: Services = request.app.state.services
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        credentials = (
            HTTPAuthorizationCredentials(scheme=kind, credentials=token)
            if kind.lower() == "bearer"
            else None
        )
        try:
            await authorize(request, services, credentials, self.scope)
        except HTTPException as err:
            detail = err.detail if isinstance(err.detail, str) else str(err.detail)
            await problem(request, err.status_code, detail, headers=err.headers)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> MCPServer:
    """Serve MCP at ``/mcp`` on ``app``; the caller runs ``server.session_manager.run()``
    in the app's lifespan."""

    def services() -> Services:
        current: Services = app.state.services
        return current

    def agent() -> Agent:
        return agent_of(app.state, services())

    server = build_server(services, settings, agent)
    server.streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, host=settings.api.host
    )  # builds the session manager (and its DNS-rebinding guard for a loopback host)
    app.add_route(
        PATH,
        KeyGuard(StreamableHTTPASGIApp(server.session_manager)),  # type: ignore[arg-type]
        methods=["GET", "POST", "DELETE"],
        include_in_schema=False,
    )
    return server
