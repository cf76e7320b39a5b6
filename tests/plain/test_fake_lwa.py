"""Login with Amazon on the fake: grants, errors, secrets and rotation."""

import base64

import pytest
import requests

ROTATION = "sellingpartnerapi::client_credential:rotation"


def _post(fake, auth=None, **form):
    headers = {"Authorization": auth} if auth else {}
    return requests.post(fake.lwa_url, data=form, headers=headers, timeout=10)


def _creds(app):
    return {"client_id": app["client_id"], "client_secret": app["client_secret"]}


def test_refresh_token_grant(fake, fake_app):
    r = _post(
        fake,
        grant_type="refresh_token",
        refresh_token=fake_app["refresh_token"],
        **_creds(fake_app),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == fake_app["refresh_token"]


def test_basic_auth_client_credentials(fake, fake_app):
    raw = f"{fake_app['client_id']}:{fake_app['client_secret']}".encode()
    auth = "Basic " + base64.b64encode(raw).decode()
    r = _post(
        fake, auth, grant_type="refresh_token", refresh_token=fake_app["refresh_token"]
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "form, status, error",
    [
        ({"refresh_token": "x"}, 400, "invalid_request"),  # no grant_type
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        (
            {"grant_type": "refresh_token", "client_secret": "wrong"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "refresh_token", "client_id": "amzn1.nope"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "Atzr|bogus"},
            400,
            "invalid_grant",
        ),
        ({"grant_type": "refresh_token", "refresh_token": ""}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "nope"}, 400, "invalid_scope"),
    ],
)
def test_lwa_errors(fake, fake_app, form, status, error):
    data = dict(_creds(fake_app), **form)
    r = _post(fake, **data)
    assert r.status_code == status
    assert set(r.json()) == {"error", "error_description"}
    assert r.json()["error"] == error


def test_revoked_refresh_token(fake, fake_app):
    fake.revoke_refresh_token(fake_app["refresh_token"])
    r = _post(
        fake,
        grant_type="refresh_token",
        refresh_token=fake_app["refresh_token"],
        **_creds(fake_app),
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_refresh_token_of_another_app(fake, fake_app):
    other = fake.add_app()
    r = _post(
        fake,
        grant_type="refresh_token",
        refresh_token=fake_app["refresh_token"],
        client_id=other.client_id,
        client_secret=other.client_secret,
    )
    assert r.json()["error"] == "invalid_grant"


def _code_form(app, code, redirect_uri="https://odoo.example.com/amazon/callback"):
    return dict(
        _creds(app),
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect_uri,
    )


def test_authorization_code_single_use(fake, fake_app):
    uri = "https://odoo.example.com/amazon/callback"
    code = fake.issue_auth_code(fake_app["client_id"], uri, "A2NEWSELLER123")
    r = _post(fake, **_code_form(fake_app, code, uri))
    assert r.status_code == 200
    body = r.json()
    assert body["refresh_token"].startswith("Atzr|")
    assert body["access_token"].startswith("Atza|")
    # The new refresh token works and belongs to the seller of the code.
    again = _post(
        fake,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
        **_creds(fake_app),
    )
    assert again.status_code == 200
    token = again.json()["access_token"]
    assert fake.store.access_tokens[token].seller_id == "A2NEWSELLER123"
    reused = _post(fake, **_code_form(fake_app, code, uri))
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")


def test_authorization_code_expires_after_five_minutes(fake, fake_app):
    uri = "https://odoo.example.com/amazon/callback"
    code = fake.issue_auth_code(fake_app["client_id"], uri, "A2NEWSELLER123")
    fake.advance(301)
    r = _post(fake, **_code_form(fake_app, code, uri))
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_authorization_code_redirect_mismatch(fake, fake_app):
    code = fake.issue_auth_code(
        fake_app["client_id"], "https://a.example/cb", "A2NEWSELLER123"
    )
    r = _post(fake, **_code_form(fake_app, code, "https://evil.example/cb"))
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    # A mismatch does not burn the code.
    assert (
        _post(fake, **_code_form(fake_app, code, "https://a.example/cb")).status_code
        == 200
    )


def test_client_credentials_grant(fake, fake_app):
    r = _post(fake, grant_type="client_credentials", scope=ROTATION, **_creds(fake_app))
    assert r.status_code == 200
    assert "refresh_token" not in r.json()
    assert r.json()["scope"] == ROTATION


def _rotate(fake, app):
    token = _post(fake, grant_type="client_credentials", scope=ROTATION, **_creds(app))
    headers = {"x-amz-access-token": token.json()["access_token"]}
    url = fake.base_url + "/applications/2023-11-30/clientSecret"
    return requests.post(url, headers=headers, timeout=10)


def test_rotation_keeps_old_secret_for_seven_days(fake, fake_app):
    r = _rotate(fake, fake_app)
    assert r.status_code == 204
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    rotation = fake.rotations[-1]
    assert rotation["old_secret"] == fake_app["client_secret"]
    new_secret = rotation["new_secret"]
    assert new_secret != fake_app["client_secret"]
    form = {"grant_type": "refresh_token", "refresh_token": fake_app["refresh_token"]}
    new_app = dict(fake_app, client_secret=new_secret)
    assert _post(fake, **form, **_creds(new_app)).status_code == 200
    assert _post(fake, **form, **_creds(fake_app)).status_code == 200
    fake.advance(7 * 86400 + 1)
    assert _post(fake, **form, **_creds(fake_app)).json()["error"] == "invalid_client"
    assert _post(fake, **form, **_creds(new_app)).status_code == 200


def test_rotation_needs_the_rotation_scope(fake, fake_app, fake_client):
    r = fake_client.request("POST", "/applications/2023-11-30/clientSecret")
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "Unauthorized"
    token = _post(
        fake,
        grant_type="client_credentials",
        scope="sellingpartnerapi::notifications",
        **_creds(fake_app),
    ).json()["access_token"]
    r = fake_client.request(
        "POST", "/applications/2023-11-30/clientSecret", token=token
    )
    assert r.status_code == 403
    assert fake.rotations == []


def test_rotation_not_enrolled(fake):
    app = fake.add_app(rotation_enrolled=False)
    r = _rotate(fake, {"client_id": app.client_id, "client_secret": app.client_secret})
    assert r.status_code == 400
    assert "not enrolled" in r.json()["errors"][0]["message"]


def test_expired_secret(fake):
    app = fake.add_app(secret_expires_at=fake.now())
    fake.advance(1)
    r = _post(
        fake,
        grant_type="client_credentials",
        scope=ROTATION,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    assert r.json()["error"] == "invalid_client"
