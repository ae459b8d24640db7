"""The operator service layer: what the CLI and the admin HTTP API both call, so neither front
holds logic. Functions take the Runtime and pydantic models and return pydantic models; errors
come from `shared.errors` (an unknown account is a NotFoundError, a refused value a
BadInputError, with the product's one-line message), and each front renders them its own way."""
