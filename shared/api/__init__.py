"""The admin HTTP API (`/api/admin/...`): a thin front over `shared.service`, with its OpenAPI
description generated from the service's pydantic models and errors as problem+json."""
