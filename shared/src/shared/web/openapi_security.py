"""The bearer scheme in the OpenAPI document, without a security dependency per request.

The auth dependency reads `Authorization` straight from the request (shared.web.deps); FastAPI's
`HTTPBearer` would add a dependency layer to every call just to document it. The document still
says which operations need a token: every route whose dependencies include an `authenticated`
one (they carry `.roles`), so /docs shows the Authorize button and the lock on those operations.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant

SCHEME = "bearerAuth"


def _needs_token(dependant: Dependant) -> bool:
    return any(hasattr(d.call, "roles") or _needs_token(d) for d in dependant.dependencies)


def install(app: FastAPI) -> None:
    """Wrap `app.openapi` to add the scheme and mark the operations that need it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[SCHEME] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        # the routes as the document sees them: included routers' prefixes and dependencies applied
        for route in routing.iter_route_contexts(app.routes):
            if not isinstance(route.original_route, routing.APIRoute):
                continue
            api: Any = route
            if api.include_in_schema and _needs_token(api.dependant):
                for method in api.methods or ():
                    operation = schema.get("paths", {}).get(api.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation["security"] = [{SCHEME: []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
