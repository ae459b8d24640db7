"""HTTP trigger: the admin API (`/api/admin/...`), one function handing every request to the
FastAPI app of `shared.api` (routes, OpenAPI, problem+json all live there).

Auth level FUNCTION: in Azure the host takes a request only with a function key
(`x-functions-key` header or `?code=`); see the README's "Admin API" section for Entra ID.
"""

from __future__ import annotations

import azure.functions as func

from shared.api.app import asgi_app

bp = func.Blueprint()
_middleware = func.AsgiMiddleware(asgi_app())


@bp.route(route="admin/{*path}", auth_level=func.AuthLevel.FUNCTION)
async def admin_api(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    answer: func.HttpResponse = await _middleware.handle_async(req, context)
    return answer
