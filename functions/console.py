"""HTTP trigger: the operator console (`/api/console/...`), server-rendered pages that ask
the admin API in process (`shared.console`); see the README's "Operator console".

Auth level ANONYMOUS for the host, because a browser cannot send a function key: in Azure the
console itself admits only people signed in by App Service Authentication (Entra ID) with the
admin API's role (`shared/console/auth.py`), and answers nothing else.
"""

from __future__ import annotations

import azure.functions as func

from shared.api.app import asgi_app
from shared.console.app import console_app

bp = func.Blueprint()
_middleware = func.AsgiMiddleware(console_app(admin=asgi_app()))


@bp.route(route="console/{*path}", auth_level=func.AuthLevel.ANONYMOUS)
async def operator_console(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    answer: func.HttpResponse = await _middleware.handle_async(req, context)
    return answer
