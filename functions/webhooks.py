"""HTTP trigger: Dataverse webhook posts (`POST /api/dynamics/webhook`), answered by
`shared.pipeline.webhook_intake`.

Auth level FUNCTION: in Azure the host takes the post only with a function key (the key named
`dynamics-webhook` holds the value of DYNAMICS_WEBHOOK_KEY); the intake checks that value again,
since the host also takes any other function key or the master key.
"""

from __future__ import annotations

import azure.functions as func

from shared.pipeline.webhook_intake import WebhookRequest, receive
from shared.runtime import get_runtime

bp = func.Blueprint()


@bp.route(
    route="dynamics/webhook", methods=[func.HttpMethod.POST], auth_level=func.AuthLevel.FUNCTION
)
def dynamics_webhook(req: func.HttpRequest) -> func.HttpResponse:
    request = WebhookRequest(req.method, req.get_body(), dict(req.headers), dict(req.params))
    answer = receive(get_runtime(), request)
    return func.HttpResponse(
        answer.content,
        status_code=answer.status,
        headers=answer.headers,
        mimetype=answer.media_type,
    )
