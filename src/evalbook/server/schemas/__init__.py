"""The API's wire contract: request bodies (strict: unknown fields and coerced types are
refused), response models (declared on every route, so the OpenAPI document is complete)
and what a request may not ask the server to do (``policy``)."""
