"""Login with Amazon token endpoint (``POST /auth/o2/token``).

Errors use LWA's shape ``{"error": ..., "error_description": ...}``: 400 for
``invalid_request``, ``invalid_grant``, ``unsupported_grant_type`` and
``invalid_scope``, 401 for ``invalid_client``.  The authorization code grant
requires ``redirect_uri`` equal to the one the code was issued for, like LWA.
"""

import base64
from urllib.parse import unquote

GRANTLESS_SCOPES = {
    "sellingpartnerapi::notifications",
    "sellingpartnerapi::client_credential:rotation",
    "sellingpartnerapi::migration",
}
ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"


class LwaError(Exception):
    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self):
        return {"error": self.error, "error_description": self.description}


def _client_credentials(form, authorization):
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _sep, secret = decoded.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        except (ValueError, UnicodeDecodeError):  # pylint: disable=except-pass
            # LWA reads a bad Basic header as no credentials: invalid_client follows.
            pass
    return client_id, secret


def _required(form, name):
    value = form.get(name)
    if not value:
        raise LwaError(
            "invalid_request", f"The request is missing a required parameter : {name}"
        )
    return value


def token(store, form, authorization=None):
    """Handle one token request; returns the JSON body or raises LwaError."""
    grant_type = _required(form, "grant_type")
    if grant_type not in ("refresh_token", "authorization_code", "client_credentials"):
        raise LwaError(
            "unsupported_grant_type",
            f"The authorization grant type {grant_type} is not supported "
            "by the authorization server",
        )
    client_id, secret = _client_credentials(form, authorization)
    app = store.apps.get(client_id or "")
    if app is None or not app.secret_valid(secret, store.clock.now()):
        raise LwaError("invalid_client", "Client authentication failed", 401)
    now = store.clock.now()
    if grant_type == "refresh_token":
        value = _required(form, "refresh_token")
        grant = store.refresh_tokens.get(value)
        if grant is None or grant.revoked or grant.client_id != client_id:
            raise LwaError(
                "invalid_grant",
                "The request has an invalid grant parameter : refresh_token",
            )
        access = store.issue_access_token(client_id, grant.seller_id)
        return _success(access, refresh_token=value)
    if grant_type == "authorization_code":
        code = _required(form, "code")
        redirect_uri = _required(form, "redirect_uri")
        with store.lock:
            grant = store.auth_codes.get(code)
            if grant is None or grant.client_id != client_id or grant.used:
                raise LwaError(
                    "invalid_grant", "The request has an invalid grant parameter : code"
                )
            if grant.expires_at <= now:
                raise LwaError("invalid_grant", "The authorization code has expired")
            if grant.redirect_uri != redirect_uri:
                raise LwaError(
                    "invalid_grant",
                    "The redirect_uri does not match the one used "
                    "for the authorization code",
                )
            grant.used = True
        refresh = store.add_refresh_token(client_id, grant.seller_id)
        access = store.issue_access_token(client_id, grant.seller_id)
        return _success(access, refresh_token=refresh)
    scope = _required(form, "scope")
    if scope not in GRANTLESS_SCOPES:
        raise LwaError("invalid_scope", f"The scope {scope} is not valid")
    access = store.issue_access_token(client_id, None, scope)
    return _success(access, scope=scope)


def _success(access, **extra):
    body = {"access_token": access, "token_type": "bearer", "expires_in": 3600}
    body.update(extra)
    return body
