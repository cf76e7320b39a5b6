"""Seller Central's consent page on the fake: redirect with a code, MD errors."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

REDIRECT = "https://odoo.example.com/sale_amazon_spapi/authorize"
SELLER = "A1CONSENTSELLER"


@pytest.fixture
def app(fake):
    fake.consent_seller_id = SELLER
    return fake.add_app(redirect_uris=[REDIRECT, "https://other.example.com/cb"])


def _consent(fake, **params):
    url = fake.seller_central_url + "/apps/authorize/consent"
    return requests.get(url, params=params, allow_redirects=False, timeout=10)


def _exchange(fake, app, code, redirect_uri=REDIRECT):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    return requests.post(fake.lwa_url, data=form, timeout=10)


def _assert_error_page(fake, response, code):
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert f"<b id='error-code'>{code}</b>" in response.text
    assert not fake.store.auth_codes
    assert [c.status for c in fake.calls_to("consent")] == [400]


def test_consent_redirects_with_code_that_exchanges(fake, app):
    r = _consent(
        fake, application_id=app.application_id, state="S.1&x", redirect_uri=REDIRECT
    )
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert set(query) == {"spapi_oauth_code", "selling_partner_id", "state"}
    assert query["state"] == "S.1&x"
    assert query["selling_partner_id"] == SELLER
    code = query["spapi_oauth_code"]
    [call] = fake.calls_to("consent")
    assert (call.params["application_id"], call.status) == (app.application_id, 302)
    # The code is bound to the redirect URI of the consent.
    wrong = _exchange(fake, app, code, "https://other.example.com/cb")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    r = _exchange(fake, app, code)
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    assert fake.store.refresh_tokens[refresh].seller_id == SELLER
    # Single use.
    assert _exchange(fake, app, code).json()["error"] == "invalid_grant"


def test_consent_code_expires_after_5_minutes(fake, app):
    r = _consent(
        fake, application_id=app.application_id, state="S", redirect_uri=REDIRECT
    )
    code = parse_qs(urlsplit(r.headers["Location"]).query)["spapi_oauth_code"][0]
    fake.advance(301)
    r = _exchange(fake, app, code)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_consent_without_redirect_uri_uses_the_first_registered(fake, app):
    r = _consent(fake, application_id=app.application_id, state="S")
    assert r.status_code == 302
    assert r.headers["Location"].startswith(REDIRECT + "?")


def test_consent_draft_needs_version_beta(fake):
    app = fake.add_app(redirect_uris=[REDIRECT], draft=True)
    r = _consent(
        fake, application_id=app.application_id, state="S", redirect_uri=REDIRECT
    )
    _assert_error_page(fake, r, "MD1000")
    r = _consent(
        fake,
        application_id=app.application_id,
        state="S",
        redirect_uri=REDIRECT,
        version="beta",
    )
    assert r.status_code == 302
    code = parse_qs(urlsplit(r.headers["Location"]).query)["spapi_oauth_code"][0]
    assert _exchange(fake, app, code).status_code == 200


def test_consent_unregistered_redirect_uri(fake, app):
    r = _consent(
        fake,
        application_id=app.application_id,
        state="S",
        redirect_uri="https://evil.example.com/sale_amazon_spapi/authorize",
    )
    _assert_error_page(fake, r, "MD5101")


def test_consent_app_without_redirect_uris(fake):
    app = fake.add_app()
    r = _consent(fake, application_id=app.application_id, state="S")
    _assert_error_page(fake, r, "MD9100")
    fake.calls.clear()
    r = _consent(fake, application_id=app.application_id, redirect_uri=REDIRECT)
    _assert_error_page(fake, r, "MD5101")


@pytest.mark.parametrize("application_id", ["amzn1.sp.solution.nope", None])
def test_consent_unknown_application(fake, app, application_id):
    params = {"state": "S", "redirect_uri": REDIRECT}
    if application_id:
        params["application_id"] = application_id
    r = _consent(fake, **params)
    _assert_error_page(fake, r, "UNKNOWN_APPLICATION")


def test_consent_error_page_escapes_input(fake, app):
    r = _consent(
        fake,
        application_id=app.application_id,
        redirect_uri="https://x.example.com/<script>",
    )
    _assert_error_page(fake, r, "MD5101")
    assert "<script>" not in r.text


def test_consent_confirm_page_then_post(fake, app):
    fake.consent_confirm = True
    params = {
        "application_id": app.application_id,
        "state": "S'<2>",
        "redirect_uri": REDIRECT,
    }
    r = _consent(fake, **params)
    assert r.status_code == 200
    assert "<form method='post' action='/apps/authorize/consent'>" in r.text
    assert "S&#x27;&lt;2&gt;" in r.text  # the state is escaped in the hidden field
    assert not fake.store.auth_codes
    url = fake.seller_central_url + "/apps/authorize/consent"
    r = requests.post(url, data=params, allow_redirects=False, timeout=10)
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["Location"]).query)
    assert query["state"] == ["S'<2>"]
    assert _exchange(fake, app, query["spapi_oauth_code"][0]).status_code == 200
    # The POST is checked like the GET.
    bad = dict(params, redirect_uri="https://other.example.com/nope")
    r = requests.post(url, data=bad, allow_redirects=False, timeout=10)
    assert r.status_code == 400
    assert "MD5101" in r.text


def test_consent_default_seller_and_existing_add_app(fake):
    # add_app() without the new options keeps working; the consent then goes
    # to the default seller when no seller is signed in.
    app = fake.add_app(
        "amzn1.application-oa2-client.x", "secret", "amzn1.sp.solution.x"
    )
    assert (app.redirect_uris, app.draft) == ([], False)
    fake.store.apps[app.client_id].redirect_uris.append(REDIRECT)
    r = _consent(fake, application_id="amzn1.sp.solution.x", state="S")
    query = parse_qs(urlsplit(r.headers["Location"]).query)
    assert query["selling_partner_id"] == ["A3FAKESELLER01"]


def test_consent_status_fault(fake, app):
    fake.inject_fault("consent", "status", status=503)
    r = _consent(fake, application_id=app.application_id, state="S")
    assert r.status_code == 503
    assert not fake.store.auth_codes
