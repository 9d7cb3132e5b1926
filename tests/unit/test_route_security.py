"""Every operation either requires a bearer token or is on the short, explicit public list.

Read from each service's OpenAPI document, the public contract: an operation that depends on
the signed-in caller lists the bearer `security` scheme and documents 401 and 403. *Who* may
call it is not read from a docstring: the authorization matrices
(tests/integration/test_authorization_*.py) call every route as every persona and assert the
answer the service enforces.
"""

import importlib

import pytest

PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known/jwks.json",
    # Signing in: the credential is in the body (a password, a refresh token, a login link,
    # a WeCom code).
    "/auth/login",
    "/auth/refresh",
    "/auth/logout",
    "/auth/login-link",
    "/auth/login-link/redeem",
    "/auth/wecom",  # a WeCom OAuth code: members asks WeCom who it is
    # A calendar feed phones poll without signing in: the unguessable token is in the URL.
    "/calendar/{campus}/{token}.ics",
}


@pytest.mark.parametrize("service", ["members", "events", "welfare", "notify"])
def test_every_operation_declares_who_may_call_it(service):
    bootstrap = importlib.import_module(f"services.{service}.bootstrap").bootstrap
    spec = bootstrap(configure_logs=False).app.openapi()
    operations = [
        (path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
    ]
    assert {p for p, _, _ in operations} >= {"/healthz", "/readyz", "/metrics"}
    for path, method, op in operations:
        doc = op.get("description", "").lower()
        if path in PUBLIC:
            assert "security" not in op and "public" in doc, f"{method} {path}"
            continue
        assert op.get("security") == [{"HTTPBearer": []}], f"{method} {path} needs no token"
        assert "401" in op["responses"] and "403" in op["responses"], f"{method} {path}"
