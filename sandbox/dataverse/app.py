"""The Dataverse sandbox: an Entra ID stand-in plus the Web API routes the product uses.

Identity (same host, like a sovereign-cloud authority):
    GET  /{tenant}/v2.0/.well-known/openid-configuration
    POST /{tenant}/oauth2/v2.0/token                      client_credentials only
Web API (bearer token from the endpoint above, audience = this server's URL):
    GET  /api/data/v9.2/                                         service document
    GET  /api/data/v9.2/WhoAmI()
    GET  /api/data/v9.2/EntityDefinitions[...]                   (sandbox/dataverse/metadata.py)
    POST /api/data/v9.2/EntityDefinitions[(...)/Attributes], RelationshipDefinitions
                                                                 (metadata_writes.py)
    GET  /api/data/v9.2/RelationshipDefinitions[...]             (relationship_reads.py)
    POST /api/data/v9.2/$batch                                   (sandbox/dataverse/batch.py)
    GET/POST            /api/data/v9.2/{entity_set}              (reads, FetchXML, deltas, create)
    GET/PATCH/DELETE    /api/data/v9.2/{entity_set}({key})       (id or alternate key)
    GET                 /api/data/v9.2/{entity_set}({key})/{navigation}
    POST                /api/data/v9.2/lists({id})/Microsoft.Dynamics.CRM.AddMemberList
    POST                /api/data/v9.2/{entity_set}/Microsoft.Dynamics.CRM.{message}
                        (CreateMultiple, UpdateMultiple, UpsertMultiple: bulk.py)
    POST/DELETE         /api/data/v9.2/{entity_set}({key})/{navigation}[({related})]/$ref
    an unknown entity set -> 404 "Resource not found for the segment ..."
Every Web API request counts toward the concurrent-request limit (429 0x80072326). Row and
list-membership changes post webhooks to the registered steps after the request (webhooks.py).

Errors use the documented shapes: Entra `{"error","error_description","error_codes",...}`
(AADSTS codes) and Dataverse `{"error":{"code","message"}}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.counters import CountingMiddleware
from sandbox.dataverse.batch import BatchRunner
from sandbox.dataverse.concurrency import ConcurrencyLimitMiddleware
from sandbox.dataverse.metadata import MetadataApi
from sandbox.dataverse.metadata_model import attributes_of, service_entity_sets, who_am_i_ids
from sandbox.dataverse.metadata_writes import MetadataWrites
from sandbox.dataverse.odata import ODataError
from sandbox.dataverse.relationship_reads import read_relationships
from sandbox.dataverse.state import DataverseState
from sandbox.dataverse.systemusers import caller_of
from sandbox.dataverse.webapi import ApiRequest, ApiResponse, WebApi
from sandbox.dataverse.webhooks import CRM_USER_ID
from sandbox.faults import FaultMiddleware

API = "/api/data/v9.2"
ATTRIBUTES_TEMPLATE = f"{API}/EntityDefinitions(LogicalName='{{entity}}')/Attributes"
LOOKUP_ATTRIBUTES_TEMPLATE = f"{ATTRIBUTES_TEMPLATE}/Microsoft.Dynamics.CRM.LookupAttributeMetadata"
ENTITY_DEFINITIONS_TEMPLATE = f"{API}/EntityDefinitions{{rest:path}}"
RELATIONSHIP_DEFINITIONS_TEMPLATE = f"{API}/RelationshipDefinitions{{rest:path}}"
BATCH_TEMPLATE = f"{API}/$batch"
COLLECTION_TEMPLATE = f"{API}/{{entity_set}}"
RECORD_TEMPLATE = f"{API}/{{entity_set}}({{key}})"
NAVIGATION_TEMPLATE = f"{API}/{{entity_set}}({{key}})/{{navigation}}"
BULK_TEMPLATE = f"{API}/{{entity_set}}/Microsoft.Dynamics.CRM.{{message}}"
ACTION_TEMPLATE = f"{API}/{{entity_set}}({{key}})/Microsoft.Dynamics.CRM.{{action}}"
REF_TEMPLATE = f"{API}/{{entity_set}}({{key}})/{{navigation}}/$ref"
REF_ITEM_TEMPLATE = f"{API}/{{entity_set}}({{key}})/{{navigation}}({{related}})/$ref"
TOKEN_TEMPLATE = "/{tenant}/oauth2/v2.0/token"
DISCOVERY_TEMPLATE = "/{tenant}/v2.0/.well-known/openid-configuration"

_ODATA_JSON = "application/json; odata.metadata=minimal"
_SERVER_ERRORS = {
    500: ("0x80040216", "An unexpected error occurred."),
    502: ("", "Bad Gateway"),
    503: ("", "The service is temporarily unavailable. Please try again later."),
    504: ("", "The request timed out."),
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _odata(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={"OData-Version": "4.0", **(headers or {})},
        media_type=_ODATA_JSON,
    )


def odata_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return _odata({"error": {"code": code, "message": message}}, status, headers)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def create_dataverse_app(state: DataverseState) -> Starlette:
    # Identity ---------------------------------------------------------------------------------

    def aad_error(
        request: Request, status: int, error: str, code: int, description: str
    ) -> Response:
        trace_id, correlation_id = state.trace_id(), state.trace_id()
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(state.now()))
        return _json(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}",
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": f"{_base_url(request)}/error?code={code}",
            },
            status,
        )

    def unknown_tenant(request: Request, tenant: str) -> Response:
        return aad_error(
            request,
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )

    async def openid_configuration(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if tenant != state.tenant_id:
            return unknown_tenant(request, tenant)
        base = f"{_base_url(request)}/{tenant}"
        return _json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{_base_url(request)}/{tenant}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{_base_url(request)}/oidc/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "sandbox.invalid",
                "cloud_graph_host_name": "graph.sandbox.invalid",
                "msgraph_host": "graph.sandbox.invalid",
            }
        )

    async def token(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if tenant != state.tenant_id:
            return unknown_tenant(request, tenant)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):  # client_secret_basic (RFC 6749 2.3.1)
            try:
                user, _, password = base64.b64decode(basic[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            client_id, client_secret = unquote(user) or client_id, unquote(password)
        if form.get("grant_type") != "client_credentials":
            return aad_error(
                request,
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type "
                f"'{form.get('grant_type', '')}'. The sandbox only issues client_credentials.",
            )
        app = state.apps.get(client_id)
        if app is None:
            return aad_error(
                request,
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant.",
            )
        if not client_secret:
            return aad_error(
                request,
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.",
            )
        if client_secret != app.client_secret:
            return aad_error(
                request,
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        scopes = [s for s in form.get("scope", "").split() if s]
        resources = [s for s in scopes if s.endswith("/.default")]
        if len(resources) != 1 or any(
            s not in {"openid", "profile", "offline_access"} for s in scopes if s not in resources
        ):
            return aad_error(
                request,
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope', '')} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        issued = state.issue_token(client_id, resources[0].removesuffix("/.default"))
        lifetime = state.token_lifetime_seconds
        return _json(
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": issued.value,
            },
            headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    # Web API ------------------------------------------------------------------------------

    def authorize(request: Request) -> Response | None:
        """None if the bearer token is good and the budget allows; else the error response."""
        base = _base_url(request)
        header = request.headers.get("authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else ""
        issued = state.valid_token(value, base) if value else None
        if issued is None:
            return odata_error(
                401,
                "",
                "The user is not authenticated: the bearer token is missing, expired, revoked "
                "or issued for another resource.",
                headers={
                    "WWW-Authenticate": f"Bearer authorization_uri={base}/{state.tenant_id}"
                    f"/oauth2/authorize, resource_id={base}/"
                },
            )
        if issued.client_id not in state.application_users:
            return odata_error(403, "0x80072560", "The user is not a member of the organization.")
        throttled = state.service_protection()
        if throttled is not None:
            retry_after, _ = throttled
            return odata_error(
                429,
                "0x80072322",
                "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
                headers={"Retry-After": retry_after},
            )
        return None

    def ratelimit_headers() -> dict[str, str]:
        remaining = state.remaining_budget()
        if remaining is None:
            return {}
        return {"x-ms-ratelimit-burst-remaining-xrm-requests": str(remaining)}

    def unknown_property(name: str, metadata_type: str) -> str:
        return (
            f"Could not find a property named '{name}' on type "
            f"'Microsoft.Dynamics.CRM.{metadata_type}'."
        )

    def entity_not_found(entity: str) -> Response:
        return odata_error(
            404,
            "0x80041102",
            f"The entity with a name = '{entity}' with namemapping = 'Logical' was not "
            "found in the MetadataCache.",
        )

    metadata = MetadataApi(state)

    async def entity_definitions(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        query = parse_qsl(request.url.query, keep_blank_values=True)
        params = request.path_params
        # The product's own path keeps its route (and counter) name.
        rest = params.get("rest", f"(LogicalName='{params.get('entity')}')/Attributes")
        try:
            with state.lock:
                body = metadata.handle(rest, query, f"{_base_url(request)}{API}")
        except ODataError as error:
            return odata_error(error.status, error.code, error.message, error.headers or None)
        return _odata(body, headers=ratelimit_headers())

    writes = MetadataWrites(state)

    async def metadata_post(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        resource = request.url.path[len(API) + 1 :].split("(")[0].split("/")[0]
        token = request.headers.get("authorization", "")[7:].strip()
        issued = state.valid_token(token, _base_url(request))
        body = await request.body()
        try:
            with state.lock:
                created = writes.handle(
                    resource,
                    unquote(request.path_params.get("rest", "")),
                    {key.lower(): value for key, value in request.headers.items()},
                    body,
                    f"{_base_url(request)}{API}",
                    issued.client_id if issued is not None else "",
                )
        except ODataError as error:
            return odata_error(error.status, error.code, error.message, error.headers or None)
        return Response(status_code=204, headers={"OData-Version": "4.0", **dict(created)})

    async def relationship_definitions(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        query = parse_qsl(request.url.query, keep_blank_values=True)
        try:
            with state.lock:
                body = read_relationships(
                    state, request.path_params["rest"], query, f"{_base_url(request)}{API}"
                )
        except ODataError as error:
            return odata_error(error.status, error.code, error.message, error.headers or None)
        return _odata(body, headers=ratelimit_headers())

    async def service_document(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        if request.url.query:
            return odata_error(
                400, "0x0", "The service document takes no query options in the sandbox."
            )
        return _odata(
            {
                "@odata.context": f"{_base_url(request)}{API}/$metadata",
                "value": [
                    {"name": name, "kind": "EntitySet", "url": name}
                    for name in service_entity_sets(state)
                ],
            },
            headers=ratelimit_headers(),
        )

    async def who_am_i(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        if request.url.query:
            return odata_error(400, "0x0", "WhoAmI takes no query options in the sandbox.")
        header = request.headers.get("authorization", "")
        issued = state.valid_token(header[7:].strip(), _base_url(request))
        client_id = issued.client_id if issued is not None else ""
        return _odata(
            {
                "@odata.context": f"{_base_url(request)}{API}/$metadata#"
                "Microsoft.Dynamics.CRM.WhoAmIResponse",
                **who_am_i_ids(state, client_id),
            },
            headers=ratelimit_headers(),
        )

    async def lookup_attributes(request: Request) -> Response:
        """The cast to LookupAttributeMetadata: only lookup columns, with their `Targets`."""
        denied = authorize(request)
        if denied is not None:
            return denied
        entity = request.path_params["entity"]
        raw_select = request.query_params.get("$select", "")
        select = [name.strip() for name in raw_select.split(",") if name.strip()]
        unknown = [n for n in select if n not in ("LogicalName", "Targets", "MetadataId")]
        if unknown:
            return odata_error(
                400,
                "0x0",
                unknown_property(unknown[0], "LookupAttributeMetadata"),
            )
        # The same columns as the Attributes collection: seeded ones, else derived from the
        # table's definition (custom tables such as new_loyaltycard).
        table = state.tables.get(entity)
        if table is None:
            return entity_not_found(entity)
        attributes = attributes_of(state, table.definition)
        rows = []
        for a in list(attributes):
            if a.attribute_type not in ("Lookup", "Customer", "Owner"):
                continue
            row: dict[str, Any] = {
                "@odata.type": "#Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                "LogicalName": a.logical_name,
                "Targets": list(a.targets),
                "MetadataId": a.metadata_id,
            }
            rows.append({k: v for k, v in row.items() if not select or k in select
                         or k in ("@odata.type", "MetadataId")})  # fmt: skip
        return _odata(
            {
                "@odata.context": f"{_base_url(request)}{API}/$metadata#EntityDefinitions"
                f"('{entity}')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                "value": rows,
            },
            headers=ratelimit_headers(),
        )

    api = WebApi(state)
    batches = BatchRunner(api.handle, state.trace_id)

    def api_request(request: Request, body: bytes) -> ApiRequest:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = bytes(raw).decode("latin-1")
        return ApiRequest(
            method=request.method,
            path=path[len(API) + 1 :] if path.startswith(API + "/") else "",
            query=parse_qsl(request.url.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in request.headers.items()},
            body=body,
            base_url=_base_url(request),
        )

    def starlette_response(answer: ApiResponse) -> Response:
        headers = dict(answer.headers)
        headers.update(ratelimit_headers())
        body = b"" if answer.status in (204, 304) else answer.body
        return Response(body, status_code=answer.status, headers=headers)

    def caller_user_id(request: Request) -> str:
        """The application user of the token's app: the UserId webhooks report."""
        header = request.headers.get("authorization", "")
        issued = state.valid_token(header[7:].strip(), _base_url(request))
        return who_am_i_ids(state, issued.client_id if issued is not None else "")["UserId"]

    async def web_api(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        call = api_request(request, await request.body())
        user_id = caller_user_id(request)
        with state.lock:
            acting = caller_of(state, call.headers.get("mscrmcallerid"), user_id)
            if acting is None:
                return unknown_caller(call)
            state.acting_user = acting
            try:
                answer = api.handle(call)
            finally:  # one request, one CorrelationId for the webhooks of its changes
                state.acting_user = CRM_USER_ID
                state.webhooks.commit(user_id)
        return starlette_response(answer)

    async def batch(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        call = api_request(request, await request.body())
        user_id = caller_user_id(request)
        with state.lock:
            acting = caller_of(state, call.headers.get("mscrmcallerid"), user_id)
            if acting is None:
                return unknown_caller(call)
            state.acting_user = acting
            try:
                # Each top-level part and each change set is one operation for the webhooks.
                answer = batches.run(call, after_unit=lambda: state.webhooks.commit(user_id))
            finally:
                state.acting_user = CRM_USER_ID
                state.webhooks.commit(user_id)
        return starlette_response(answer)

    async def total_record_count(request: Request) -> Response:
        """RetrieveTotalRecordCount(EntityNames=@names)?@names=["contact"]: Dataverse answers
        a snapshot of the last 24 hours; the sandbox counts the rows now."""
        denied = authorize(request)
        if denied is not None:
            return denied
        try:
            names = json.loads(request.query_params.get("@names", ""))
        except ValueError:
            names = None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return odata_error(400, "0x0", "EntityNames must be a JSON list of logical names.")
        values = []
        for name in names:
            table = state.tables.get(name)
            if table is None:
                return entity_not_found(name)
            values.append(len(table.rows))
        return _odata(
            {
                "@odata.context": f"{_base_url(request)}{API}/$metadata#"
                "Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse",
                "EntityRecordCountCollection": {
                    "Count": len(names), "IsReadOnly": False, "Keys": names, "Values": values,
                },
            },
            headers=ratelimit_headers(),
        )  # fmt: skip

    def unknown_caller(call: ApiRequest) -> Response:
        """Impersonating a user the org does not have (MSCRMCallerID)."""
        user = call.headers.get("mscrmcallerid", "")
        return odata_error(404, "0x80040217", f"systemuser With Id = {user} Does Not Exist")

    routes: list[BaseRoute] = [
        Route(DISCOVERY_TEMPLATE, openid_configuration, methods=["GET"]),
        Route(TOKEN_TEMPLATE, token, methods=["POST"]),
        Route(API, service_document, methods=["GET"]),
        Route(API + "/", service_document, methods=["GET"]),
        Route(API + "/WhoAmI", who_am_i, methods=["GET"]),
        Route(API + "/WhoAmI()", who_am_i, methods=["GET"]),
        Route(
            API + "/RetrieveTotalRecordCount(EntityNames=@names)",
            total_record_count,
            methods=["GET"],
        ),
        Route(ATTRIBUTES_TEMPLATE, entity_definitions, methods=["GET"]),
        Route(LOOKUP_ATTRIBUTES_TEMPLATE, lookup_attributes, methods=["GET"]),
        Route(ENTITY_DEFINITIONS_TEMPLATE, entity_definitions, methods=["GET"]),
        Route(ENTITY_DEFINITIONS_TEMPLATE, metadata_post, methods=["POST"]),
        Route(RELATIONSHIP_DEFINITIONS_TEMPLATE, relationship_definitions, methods=["GET"]),
        Route(RELATIONSHIP_DEFINITIONS_TEMPLATE, metadata_post, methods=["POST"]),
        Route(BATCH_TEMPLATE, batch, methods=["POST"]),
        Route(REF_ITEM_TEMPLATE, web_api, methods=["DELETE"]),
        Route(REF_TEMPLATE, web_api, methods=["POST", "DELETE"]),
        Route(ACTION_TEMPLATE, web_api, methods=["POST"]),
        Route(BULK_TEMPLATE, web_api, methods=["POST"]),
        Route(NAVIGATION_TEMPLATE, web_api, methods=["GET"]),
        Route(RECORD_TEMPLATE, web_api, methods=["GET", "PATCH", "DELETE"]),
        Route(COLLECTION_TEMPLATE, web_api, methods=["GET", "POST"]),
        Route(API + "/{rest:path}", web_api, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
    ]

    def server_error(status: int) -> Response:
        code, message = _SERVER_ERRORS.get(status, ("", "Server error"))
        return odata_error(status, code, message)

    def throttled(seconds: int) -> Response:
        # Seeded throttling stands for the execution-time limit (the request-count limit has
        # its own switch, set_request_budget): code and message as api-limits.md gives them.
        return odata_error(
            429,
            "0x80072321",
            "Combined execution time of incoming requests exceeded limit of 1,200,000 "
            " milliseconds over time window of 300 seconds. Decrease number of concurrent "
            "requests or reduce the duration of requests and try again later.",
            headers={"Retry-After": str(seconds)},
        )

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CountingMiddleware, counters=state.counters, routes=routes, server="dataverse"
            ),
            Middleware(ConcurrencyLimitMiddleware, state=state),
            # Entra ID is a different service: faults and throttling hit the Web API only.
            Middleware(
                FaultMiddleware,
                faults=state.faults,
                error_response=server_error,
                throttle_response=throttled,
                applies=lambda path: path.startswith("/api/"),
            ),
        ],
    )
