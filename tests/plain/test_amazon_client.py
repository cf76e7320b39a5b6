"""AmazonClient against an in-process stub: error mapping, retries, tokens."""

import json
import logging
import os
import threading
from datetime import datetime, timezone
from unittest import mock

import httpx
import pytest
from amazon_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    SINCE,
    FakeClock,
    StubAmazon,
    error_reply,
    json_reply,
    make_client,
    make_config,
    public_resolver,
)

import amazon
from amazon import (
    AmazonError,
    ChannelConfig,
    Pacer,
    ThrottledError,
    invalidate_access_tokens,
)
from amazon.client import TOKEN_CACHE

ORDERS = "/orders/2026-01-01/orders"
TOKEN = "/auth/o2/token"


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    TOKEN_CACHE.clear()
    yield
    TOKEN_CACHE.clear()


@pytest.fixture
def stub():
    return StubAmazon()


# -- configuration, credentials, endpoints ------------------------------------


def test_config_repr_hides_secrets():
    cfg = make_config(marketplace_ids="A1PA6795UKMFR9, A13V1IB3VIYZZH")
    for text in (repr(cfg), str(cfg), repr(amazon.AmazonClient(cfg))):
        assert CLIENT_SECRET not in text and REFRESH_TOKEN not in text
        assert CLIENT_ID in text
    assert cfg.marketplace_ids == ("A1PA6795UKMFR9", "A13V1IB3VIYZZH")
    with pytest.raises(AttributeError):
        cfg.client_secret = "other"
    assert cfg.replace(client_secret="x").client_secret == "x"


def test_credentials_come_only_from_the_config(stub, tmp_path, monkeypatch):
    config_dir = tmp_path / "python-sp-api"
    config_dir.mkdir()
    (config_dir / "credentials.yml").write_text(
        "default:\n  refresh_token: Atzr|FROMFILE\n  lwa_app_id: file-app\n"
        "  lwa_client_secret: file-secret\n"
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LWA_APP_ID", "env-app")
    monkeypatch.setenv("LWA_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", "Atzr|FROMENV")
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "US")
    client = make_client(stub)
    client.search_orders(last_updated_after=SINCE)
    form = stub.lwa_forms()[0]
    assert form["client_id"] == CLIENT_ID
    assert form["client_secret"] == CLIENT_SECRET
    assert form["refresh_token"] == REFRESH_TOKEN
    request = stub.api_requests(ORDERS)[0]
    assert request.url.host == "spapi.test"  # not the US endpoint
    assert request.url.params["marketplaceIds"] == "A1PA6795UKMFR9"

    # Missing values are an error, never a reason to look elsewhere.
    bad = make_client(stub, config=make_config(client_secret=""))
    with pytest.raises(AmazonError) as info:
        bad.search_orders(last_updated_after=SINCE)
    assert info.value.code == "missing_credentials"
    no_rt = make_client(stub, config=make_config(refresh_token=None))
    with pytest.raises(AmazonError) as info:
        no_rt.get_order("1")
    assert info.value.code == "not_authorized"


def test_http_endpoint_override_and_host_header(stub):
    client = make_client(stub)
    client.get_order("111-2222222-3333333")
    token_request, api_request = stub.requests
    assert str(token_request.url) == "http://lwa.test/auth/o2/token"
    assert str(api_request.url).startswith(
        "http://spapi.test:8900/orders/2026-01-01/orders/111-2222222-3333333?"
    )
    assert api_request.headers["host"] == "spapi.test:8900"
    assert api_request.headers["x-amz-access-token"] == "Atza|unit-access-1"
    assert api_request.url.params["includedData"].split(",") == list(
        amazon.INCLUDED_DATA
    )


def test_https_endpoint_host_header(stub):
    cfg = make_config(endpoint="https://sellingpartnerapi-eu.amazon.com/")
    make_client(stub, config=cfg).get_order("1")
    request = stub.api_requests()[0]
    assert request.headers["host"] == "sellingpartnerapi-eu.amazon.com"
    assert request.url.scheme == "https"


# -- token cache --------------------------------------------------------------


def test_access_token_is_cached_per_channel(stub):
    client = make_client(stub)
    client.get_order("1")
    client.get_order("2")
    make_client(stub).get_order("3")  # another client instance, same channel
    assert len(stub.lwa_forms()) == 1


def test_token_cache_isolation_between_apps_sharing_a_refresh_token(stub):
    first = make_client(stub)
    other_app = make_client(
        stub, config=make_config(client_id="other-app", client_secret="other-secret")
    )
    first.get_order("1")
    other_app.get_order("2")
    tokens = [r.headers["x-amz-access-token"] for r in stub.api_requests()]
    assert tokens == ["Atza|unit-access-1", "Atza|unit-access-2"]
    assert [f["client_id"] for f in stub.lwa_forms()] == [CLIENT_ID, "other-app"]
    other_lwa = make_client(
        stub, config=make_config(lwa_url="http://lwa2.test/auth/o2/token")
    )
    other_lwa.get_order("3")
    assert len(stub.lwa_forms()) == 3


def test_changed_secret_never_gets_the_old_token(stub):
    make_client(stub).get_order("1")
    rotated = make_config(client_secret="amzn1.oa2-cs.v1.rotated")
    make_client(stub, config=rotated).get_order("2")
    forms = stub.lwa_forms()
    assert len(forms) == 2
    assert forms[1]["client_secret"] == "amzn1.oa2-cs.v1.rotated"
    assert stub.api_requests()[1].headers["x-amz-access-token"] == "Atza|unit-access-2"


def test_invalidate_access_tokens(stub):
    cfg = make_config()
    make_client(stub, config=cfg).get_order("1")
    invalidate_access_tokens(cfg)
    make_client(stub, config=cfg).get_order("2")
    assert len(stub.lwa_forms()) == 2
    # Other apps keep their tokens.
    other = make_config(client_id="other-app")
    make_client(stub, config=other).get_order("3")
    invalidate_access_tokens(cfg)
    make_client(stub, config=other).get_order("4")
    assert len(stub.lwa_forms()) == 3


def test_has_cached_access_token(stub):
    cfg = make_config()
    assert not amazon.has_cached_access_token(cfg)
    make_client(stub, config=cfg).get_order("1")
    assert amazon.has_cached_access_token(cfg)
    # Exactly these credentials: another secret or seller has no token.
    assert not amazon.has_cached_access_token(cfg.replace(client_secret="other"))
    assert not amazon.has_cached_access_token(cfg.replace(refresh_token="Atzr|x"))
    assert not amazon.has_cached_access_token(cfg, scope=amazon.ROTATION_SCOPE)
    make_client(stub, config=cfg).rotate_client_secret()
    # The rotation dropped every token of the app, the grantless one included.
    assert not amazon.has_cached_access_token(cfg)
    assert not amazon.has_cached_access_token(cfg, scope=amazon.ROTATION_SCOPE)
    make_client(stub, config=cfg).check_client_credentials()
    assert amazon.has_cached_access_token(cfg, scope=amazon.ROTATION_SCOPE)
    invalidate_access_tokens(cfg)
    assert not amazon.has_cached_access_token(cfg, scope=amazon.ROTATION_SCOPE)


def test_has_cached_access_token_follows_expiry(stub, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(TOKEN_CACHE, "clock", clock)
    cfg = make_config()
    make_client(stub, config=cfg).get_order("1")
    assert amazon.has_cached_access_token(cfg)
    clock.now += 3600
    assert not amazon.has_cached_access_token(cfg)


def test_check_client_credentials(stub):
    cfg = make_config(refresh_token=None)
    client = make_client(stub, config=cfg)
    assert client.check_client_credentials() is True
    assert client.check_client_credentials(scope="sellingpartnerapi::notifications")
    assert client.check_client_credentials() is True
    forms = stub.lwa_forms()
    # Never served from the cache: each check is a new grant at LWA.
    assert len(forms) == 3
    assert forms[0] == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "sellingpartnerapi::client_credential:rotation",
    }
    assert forms[1]["scope"] == "sellingpartnerapi::notifications"
    # The rotation reuses the token the check fetched.
    client.rotate_client_secret()
    assert len(stub.lwa_forms()) == 3


@pytest.mark.parametrize(
    "status,lwa_code,expected",
    [
        (401, "invalid_client", "invalid_client"),
        (400, "invalid_scope", "lwa_error"),
        (400, "unauthorized_client", "unauthorized_client"),
    ],
)
def test_check_client_credentials_refused(stub, status, lwa_code, expected):
    stub.queue(
        TOKEN,
        json_reply(
            {"error": lwa_code, "error_description": "nope"},
            status=status,
            request_id="lwa-rid",
        ),
    )
    cfg = make_config(refresh_token=None)
    with pytest.raises(AmazonError) as info:
        make_client(stub, config=cfg).check_client_credentials()
    assert info.value.code == expected and info.value.request_id == "lwa-rid"
    assert CLIENT_SECRET not in str(info.value)
    assert len(stub.lwa_forms()) == 1  # a refusal is not retried
    assert not amazon.has_cached_access_token(cfg, scope=amazon.ROTATION_SCOPE)


def test_check_client_credentials_outage_is_retried(stub):
    clock = FakeClock()
    stub.queue(TOKEN, httpx.Response(503))
    client = make_client(stub, config=make_config(refresh_token=None), clock=clock)
    assert client.check_client_credentials()
    assert len(stub.lwa_forms()) == 2 and len(clock.sleeps) == 1
    with pytest.raises(AmazonError) as info:
        make_client(
            stub, config=make_config(client_secret="", refresh_token=None)
        ).check_client_credentials()
    assert info.value.code == "missing_credentials"


def test_check_credentials_bypasses_the_cache(stub):
    client = make_client(stub)
    client.get_order("1")
    assert client.check_credentials() is True
    assert len(stub.lwa_forms()) == 2
    client.get_order("2")  # uses the token check_credentials fetched
    assert len(stub.lwa_forms()) == 2
    assert stub.api_requests()[1].headers["x-amz-access-token"] == "Atza|unit-access-2"


def test_expired_token_is_renewed_once(stub):
    client = make_client(stub)
    client.get_order("1")
    expired = error_reply(
        403, "Unauthorized", "The access token you provided has expired."
    )
    stub.queue(ORDERS + "/2", expired)
    assert client.get_order("2")["orderId"] == "2"
    assert len(stub.lwa_forms()) == 2
    stub.queue(ORDERS + "/3", expired, expired)
    with pytest.raises(AmazonError) as info:
        client.get_order("3")
    assert info.value.code == "forbidden" and info.value.request_id == "rid-err"


# -- LWA ----------------------------------------------------------------------


def test_authorization_code_exchange_sends_redirect_uri(stub):
    client = make_client(stub, config=make_config(refresh_token=None))
    refresh = client.exchange_authorization_code(
        "ANcode123", "https://odoo.example.com/amazon/oauth"
    )
    assert refresh == "Atzr|unit-new-refresh"
    form = stub.lwa_forms()[0]
    assert form == {
        "grant_type": "authorization_code",
        "code": "ANcode123",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": "https://odoo.example.com/amazon/oauth",
    }


def test_authorization_code_is_not_resent_after_a_timeout(stub):
    client = make_client(stub)
    stub.queue(TOKEN, httpx.ReadTimeout("slow"))
    with pytest.raises(AmazonError) as info:
        client.exchange_authorization_code("code", "https://x/cb")
    assert info.value.code == "unavailable"
    assert len(stub.lwa_forms()) == 1
    # Could not connect at all: the code was not used, retrying is safe.
    stub.queue(TOKEN, httpx.ConnectError("refused"))
    assert client.exchange_authorization_code("code", "https://x/cb")
    assert len(stub.lwa_forms()) == 3


@pytest.mark.parametrize(
    "status, lwa_code, expected",
    [
        (400, "invalid_grant", "invalid_grant"),
        (401, "invalid_client", "invalid_client"),
        (400, "invalid_request", "invalid_request"),
        (400, "unauthorized_client", "unauthorized_client"),
        (400, "invalid_scope", "lwa_error"),
    ],
)
def test_lwa_errors(stub, status, lwa_code, expected):
    stub.queue(
        TOKEN,
        json_reply(
            {"error": lwa_code, "error_description": "nope"},
            status=status,
            request_id="lwa-rid",
        ),
    )
    client = make_client(stub)
    with pytest.raises(AmazonError) as info:
        client.check_credentials()
    err = info.value
    assert err.code == expected
    assert err.request_id == "lwa-rid" and err.status == status
    assert "nope" in str(err) and "lwa-rid" in str(err)
    assert not err.retryable
    assert len(stub.lwa_forms()) == 1  # not retried


def test_lwa_error_during_api_call(stub):
    stub.queue(
        TOKEN,
        json_reply({"error": "invalid_grant", "error_description": "revoked"}, 400),
    )
    with pytest.raises(AmazonError) as info:
        make_client(stub).search_orders(last_updated_after=SINCE)
    assert info.value.code == "invalid_grant"
    assert stub.api_requests() == []


def test_lwa_non_json_replies(stub):
    html = httpx.Response(200, content=b"<html>maintenance</html>")
    stub.queue(TOKEN, html, html)
    client = make_client(stub, retries=1)
    with pytest.raises(AmazonError) as info:
        client.check_credentials()
    assert info.value.code == "malformed" and info.value.retryable
    assert len(stub.lwa_forms()) == 2
    stub.queue(TOKEN, httpx.Response(400, content=b"Bad Request"))
    with pytest.raises(AmazonError) as info:
        make_client(stub, retries=0).check_credentials()
    assert info.value.code == "malformed"


def test_lwa_outage_is_retried(stub):
    clock = FakeClock()
    stub.queue(TOKEN, httpx.Response(503), httpx.Response(500, content=b"oops"))
    client = make_client(stub, clock=clock)
    assert client.check_credentials()
    assert len(stub.lwa_forms()) == 3
    assert len(clock.sleeps) == 2


# -- SP-API errors ------------------------------------------------------------


@pytest.mark.parametrize(
    "status, code",
    [
        (400, "bad_request"),
        (403, "forbidden"),
        (404, "not_found"),
        (409, "http_error"),
        (413, "http_error"),
        (415, "http_error"),
    ],
)
def test_sp_api_client_errors(stub, status, code):
    stub.queue(ORDERS, error_reply(status, "InvalidInput", "Bad createdAfter"))
    client = make_client(stub)
    with pytest.raises(AmazonError) as info:
        client.search_orders(last_updated_after=SINCE)
    err = info.value
    assert err.code == code and err.status == status
    assert err.request_id == "rid-err"
    assert "InvalidInput: Bad createdAfter" in str(err)
    assert "rid-err" in str(err)
    assert len(stub.api_requests()) == 1  # never retried


def test_403_wrong_region_message(stub):
    stub.queue(
        ORDERS,
        error_reply(403, "Unauthorized", "Access to requested resource is denied."),
    )
    with pytest.raises(AmazonError) as info:
        make_client(stub).search_orders(last_updated_after=SINCE)
    assert "region" in str(info.value) and "role" in str(info.value)
    assert len(stub.lwa_forms()) == 1  # not a token problem: no renewal


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(
            500, json={"errors": [{"code": "InternalFailure", "message": "x"}]}
        ),
        httpx.Response(503, content=b"<html>Service Unavailable</html>"),
        httpx.Response(502),
        httpx.ReadTimeout("read timeout"),
        httpx.ConnectTimeout("connect timeout"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.ConnectError("refused"),
    ],
    ids=[
        "500",
        "503",
        "502",
        "read-timeout",
        "connect-timeout",
        "reset",
        "protocol",
        "connect",
    ],
)
def test_transient_failures_are_retried_then_unavailable(stub, failure):
    clock = FakeClock()
    client = make_client(stub, clock=clock, retries=3, max_wait=5.0)
    stub.queue(ORDERS + "/1", *([failure] * 4))
    with pytest.raises(AmazonError) as info:
        client.get_order("1")
    err = info.value
    assert err.code == "unavailable" and err.retryable
    assert err.params["attempts"] == 4
    assert "4 attempts" in str(err)
    assert len(stub.api_requests()) == 4
    # exponential backoff with jitter, never above max_wait
    assert clock.sleeps == pytest.approx([0.375, 0.75, 1.5])
    assert all(s <= 5.0 for s in clock.sleeps)


def test_transient_failure_then_success(stub):
    clock = FakeClock()
    client = make_client(stub, clock=clock)
    stub.queue(ORDERS + "/1", httpx.Response(503), httpx.ReadError("reset"))
    assert client.get_order("1") == {"orderId": "1"}
    assert len(clock.sleeps) == 2


def test_backoff_is_capped_by_max_wait(stub):
    clock = FakeClock()
    client = make_client(stub, clock=clock, retries=6, max_wait=1.0, backoff=1.0)
    stub.queue(ORDERS + "/1", *([httpx.Response(500)] * 7))
    with pytest.raises(AmazonError):
        client.get_order("1")
    assert max(clock.sleeps) <= 1.0


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, content=b'{"orders": [{"orderId": "1"'),  # truncated
        httpx.Response(200, content=b"<html>hi</html>"),
        httpx.Response(200, content=b""),
        httpx.Response(200, json={"payload": {}}),
        httpx.Response(200, json={"orders": {"orderId": "1"}}),
        httpx.Response(200, json={"orders": [{"noId": 1}]}),
        httpx.Response(200, json={"orders": [], "pagination": {"nextToken": 5}}),
        httpx.Response(200, json=[1, 2]),
    ],
    ids=[
        "truncated",
        "html",
        "empty",
        "no-orders",
        "not-a-list",
        "no-id",
        "bad-token",
        "list",
    ],
)
def test_malformed_replies(stub, reply):
    client = make_client(stub, retries=1)
    stub.queue(ORDERS, reply, reply)
    with pytest.raises(AmazonError) as info:
        client.search_orders(last_updated_after=SINCE)
    assert info.value.code == "malformed"
    assert info.value.retryable


def test_malformed_get_order_and_participations(stub):
    client = make_client(stub, retries=0)
    stub.queue(ORDERS + "/1", httpx.Response(200, json={"orderId": "1"}))
    with pytest.raises(AmazonError, match="could not be read"):
        client.get_order("1")
    stub.queue("/sellers/v1/marketplaceParticipations", httpx.Response(200, json={}))
    with pytest.raises(AmazonError) as info:
        client.get_marketplace_participations()
    assert info.value.code == "malformed"


def test_2xx_with_errors_is_unexpected(stub):
    stub.queue(ORDERS + "/1", json_reply({"errors": [{"code": "X", "message": "y"}]}))
    with pytest.raises(AmazonError) as info:
        make_client(stub).get_order("1")
    assert info.value.code == "unexpected"


# -- throttling ---------------------------------------------------------------


def test_429_on_get_order_waits_briefly_and_retries(stub):
    clock = FakeClock()
    client = make_client(stub, clock=clock)
    stub.queue(ORDERS + "/1", error_reply(429, "QuotaExceeded", "throttled"))
    assert client.get_order("1")["orderId"] == "1"
    assert clock.sleeps == [pytest.approx(2.0)]  # one getOrder token at 0.5/s


def test_429_on_search_orders_becomes_throttled_error(stub):
    clock = FakeClock()
    client = make_client(stub, clock=clock)
    stub.queue(ORDERS, error_reply(429, "QuotaExceeded", "throttled", "rid-429"))
    with pytest.raises(ThrottledError) as info:
        client.search_orders(last_updated_after=SINCE)
    err = info.value
    assert err.status == 429 and err.request_id == "rid-429"
    assert err.retry_after == pytest.approx(1 / 0.0056)
    assert clock.sleeps == []
    assert len(stub.api_requests()) == 1
    # The bucket stays empty: the next call in the same run does not even try.
    with pytest.raises(ThrottledError):
        client.search_orders(last_updated_after=SINCE)
    assert len(stub.api_requests()) == 1


def test_repeated_429_is_bounded(stub):
    clock = FakeClock()
    client = make_client(stub, clock=clock, retries=2)
    stub.queue(ORDERS + "/1", *([error_reply(429)] * 5))
    with pytest.raises(ThrottledError):
        client.get_order("1")
    assert len(stub.api_requests()) == 3
    assert sum(clock.sleeps) <= 3 * client.max_wait


def test_pacer_budget_spent_raises_before_calling(stub):
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    client = make_client(stub, clock=clock, pacer=pacer, max_wait=5.0)
    for _ in range(20):
        client.search_orders(last_updated_after=SINCE)
    with pytest.raises(ThrottledError) as info:
        client.search_orders(last_updated_after=SINCE)
    assert info.value.operation == "searchOrders"
    assert len(stub.api_requests()) == 20
    # A new client of the next run sharing the pacer resumes once refilled.
    clock.now += 180
    make_client(stub, clock=clock, pacer=pacer).search_orders(last_updated_after=SINCE)
    assert len(stub.api_requests()) == 21


def test_rate_limit_header_updates_pacer(stub):
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    client = make_client(stub, clock=clock, pacer=pacer)
    stub.queue(
        ORDERS,
        json_reply({"orders": []}, headers={"x-amzn-RateLimit-Limit": "0.0333"}),
    )
    client.search_orders(last_updated_after=SINCE)
    assert pacer.bucket("searchOrders").rate == pytest.approx(0.0333)
    assert client.last_request_id == "rid-1"


def test_default_pacer_is_shared_per_channel(stub):
    Pacer.forget()
    try:
        cfg = make_config()
        first = amazon.AmazonClient(cfg, http_transport=stub.transport)
        second = amazon.AmazonClient(cfg, http_transport=stub.transport)
        other = amazon.AmazonClient(
            make_config(refresh_token="Atzr|other-seller"),
            http_transport=stub.transport,
        )
        assert first.pacer is second.pacer
        assert other.pacer is not first.pacer
    finally:
        Pacer.forget()


# -- orders -------------------------------------------------------------------


def _page(ids, token=None, window="2025-03-01T10:00:00Z"):
    body = {"orders": [{"orderId": i} for i in ids], "lastUpdatedBefore": window}
    if token:
        body["pagination"] = {"nextToken": token}
    return json_reply(body, request_id=f"rid-{ids[0] if ids else 'none'}")


def test_search_orders_parameters(stub):
    client = make_client(stub, config=make_config(marketplace_ids=("A1", "A2")))
    client.search_orders(
        last_updated_after=datetime(2025, 1, 2, 3, 4, 5),  # naive = UTC
        last_updated_before=datetime(2025, 1, 3, 4, 0, tzinfo=timezone.utc),
        fulfillment_statuses=["UNSHIPPED", "PARTIALLY_SHIPPED"],
        fulfilled_by=["MERCHANT"],
        max_results=500,
        included_data=("BUYER", "RECIPIENT"),
    )
    params = dict(stub.api_requests()[0].url.params)
    assert params == {
        "marketplaceIds": "A1,A2",
        "maxResultsPerPage": "100",
        "lastUpdatedAfter": "2025-01-02T03:04:05Z",
        "lastUpdatedBefore": "2025-01-03T04:00:00Z",
        "fulfillmentStatuses": "UNSHIPPED,PARTIALLY_SHIPPED",
        "fulfilledBy": "MERCHANT",
        "includedData": "BUYER,RECIPIENT",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"created_after": SINCE, "last_updated_after": SINCE},
        {"created_after": SINCE, "last_updated_before": SINCE},
        {"last_updated_after": SINCE, "created_before": SINCE},
        {"last_updated_after": SINCE, "fulfillment_statuses": ["SENT"]},
        {"last_updated_after": SINCE, "included_data": ["EVERYTHING"]},
    ],
)
def test_search_orders_rejects_bad_parameters(stub, kwargs):
    with pytest.raises(ValueError):
        make_client(stub).search_orders(**kwargs)
    assert stub.requests == []


def test_pagination_follows_next_token_with_same_filters(stub):
    stub.queue(ORDERS, _page(["1", "2"], "tok-2"), _page(["3"], "tok-3"), _page(["4"]))
    client = make_client(stub)
    pages = list(client.iter_orders(created_after=SINCE, max_results=2))
    assert [[o["orderId"] for o in p.orders] for p in pages] == [
        ["1", "2"],
        ["3"],
        ["4"],
    ]
    assert [p.next_token for p in pages] == ["tok-2", "tok-3", None]
    assert [p.request_id for p in pages] == ["rid-1", "rid-3", "rid-4"]
    requests = stub.api_requests(ORDERS)
    assert [r.url.params.get("paginationToken") for r in requests] == [
        None,
        "tok-2",
        "tok-3",
    ]
    for request in requests:
        assert request.url.params["createdAfter"] == "2025-01-01T00:00:00Z"
        assert request.url.params["maxResultsPerPage"] == "2"


def test_window_end_from_response(stub):
    stub.queue(ORDERS, _page(["1"], window="2025-03-01T10:00:00Z"))
    page = make_client(stub).search_orders(last_updated_after=SINCE)
    assert page.window_end == datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
    stub.queue(
        ORDERS, json_reply({"orders": [], "createdBefore": "2025-03-02T00:00:00+01:00"})
    )
    page = make_client(stub).search_orders(created_after=SINCE)
    assert page.window_end == datetime(2025, 3, 1, 23, 0, tzinfo=timezone.utc)
    stub.queue(ORDERS, json_reply({"orders": []}))
    assert make_client(stub).search_orders(created_after=SINCE).window_end is None


def test_resume_from_a_saved_pagination_token(stub):
    stub.queue(ORDERS, _page(["5"]))
    pages = list(
        make_client(stub).iter_orders(
            last_updated_after=SINCE, pagination_token="saved"
        )
    )
    assert len(pages) == 1
    assert stub.api_requests(ORDERS)[0].url.params["paginationToken"] == "saved"


def test_repeating_pagination_token_stops(stub):
    stub.queue(ORDERS, _page(["1"], "same"), _page(["2"], "same"))
    with pytest.raises(AmazonError) as info:
        list(make_client(stub).iter_orders(last_updated_after=SINCE))
    assert info.value.code == "unexpected"


def test_throttled_mid_pagination_keeps_token(stub):
    clock = FakeClock()
    pacer = Pacer(plans={"searchOrders": (0.0056, 2)}, clock=clock)
    stub.queue(ORDERS, _page(["1"], "t2"), _page(["2"], "t3"))
    client = make_client(stub, clock=clock, pacer=pacer)
    seen = []
    with pytest.raises(ThrottledError):
        seen.extend(client.iter_orders(last_updated_after=SINCE))
    assert [p.next_token for p in seen] == ["t2", "t3"]
    # The caller stores seen[-1].next_token and resumes next run.
    clock.now += 200
    stub.queue(ORDERS, _page(["3"]))
    rest = list(
        make_client(stub, clock=clock, pacer=pacer).iter_orders(
            last_updated_after=SINCE, pagination_token=seen[-1].next_token
        )
    )
    assert rest[0].orders == [{"orderId": "3"}]


def test_get_order_and_participations(stub):
    client = make_client(stub)
    assert client.get_order("123-1234567-1234567") == {"orderId": "123-1234567-1234567"}
    participation = {
        "marketplace": {"id": "A1PA6795UKMFR9", "countryCode": "DE"},
        "participation": {"isParticipating": True, "hasSuspendedListings": False},
        "storeName": "Shop",
    }
    stub.queue(
        "/sellers/v1/marketplaceParticipations",
        json_reply({"payload": [participation]}),
    )
    assert client.get_marketplace_participations() == [participation]
    assert "marketplaceIds" not in stub.api_requests("/sellers")[0].url.params


# -- shipping and secret rotation ---------------------------------------------


def test_confirm_shipment_body(stub):
    client = make_client(stub)
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "DHL",
        "trackingNumber": "JD0001",
        "shipDate": datetime(2025, 5, 1, 12, 0),
        "orderItems": [{"orderItemId": "OI1", "quantity": 1}],
    }
    assert client.confirm_shipment("111-1111111-1111111", "A1PA6795UKMFR9", detail)
    request = stub.api_requests("shipmentConfirmation")[0]
    assert request.method == "POST"
    assert (
        request.url.path == "/orders/v0/orders/111-1111111-1111111/shipmentConfirmation"
    )
    body = json.loads(request.content)
    assert body == {
        "marketplaceId": "A1PA6795UKMFR9",
        "packageDetail": dict(detail, shipDate="2025-05-01T12:00:00Z"),
    }


def test_confirm_shipment_error(stub):
    stub.queue(
        "/orders/v0/orders/1/shipmentConfirmation",
        error_reply(400, "InvalidInput", "orderItemId unknown"),
    )
    with pytest.raises(AmazonError) as info:
        make_client(stub).confirm_shipment("1", "A1", {"packageReferenceId": "1"})
    assert info.value.code == "bad_request"
    assert "orderItemId unknown" in str(info.value)


def test_rotate_client_secret_is_grantless(stub):
    client = make_client(stub)
    client.get_order("1")
    assert client.rotate_client_secret() is True
    forms = stub.lwa_forms()
    assert forms[1] == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "sellingpartnerapi::client_credential:rotation",
    }
    request = stub.api_requests("clientSecret")[0]
    assert request.method == "POST" and request.content in (b"", b"{}")
    assert request.headers["x-amz-access-token"] == "Atza|unit-access-2"
    # Tokens of the app are dropped: the next call logs in again.
    client.get_order("2")
    assert len(stub.lwa_forms()) == 3


def test_rotation_renews_a_rejected_grantless_token(stub):
    clock = FakeClock()
    client = make_client(stub, clock=clock)
    client.rotate_client_secret()
    clock.now += 60  # one rotation per minute
    expired = error_reply(403, "Unauthorized", "The access token has expired.")
    stub.queue("/applications/2023-11-30/clientSecret", expired)
    client.rotate_client_secret()
    assert clock.sleeps == []
    grants = [f["grant_type"] for f in stub.lwa_forms()]
    assert grants == ["client_credentials"] * 3
    tokens = [r.headers["x-amz-access-token"] for r in stub.api_requests()]
    assert tokens[-1] != tokens[-2]


def test_rotation_is_not_repeated_after_a_timeout(stub):
    stub.queue("/applications/2023-11-30/clientSecret", httpx.ReadTimeout("slow"))
    with pytest.raises(AmazonError) as info:
        make_client(stub).rotate_client_secret()
    assert info.value.code == "unavailable"
    assert len(stub.api_requests("clientSecret")) == 1


def test_rotation_not_enrolled(stub):
    stub.queue(
        "/applications/2023-11-30/clientSecret",
        error_reply(400, "InvalidInput", "Application is not enrolled"),
    )
    with pytest.raises(AmazonError) as info:
        make_client(stub).rotate_client_secret()
    assert info.value.code == "bad_request"


# -- Amazon Custom download ---------------------------------------------------


def test_download_customization(stub):
    stub.queue("/custom/1.zip", httpx.Response(200, content=b"PK\x03\x04data"))
    client = make_client(stub)
    assert client.download_customization("https://custom.test/custom/1.zip") == (
        b"PK\x03\x04data"
    )
    request = stub.requests[-1]
    assert "x-amz-access-token" not in request.headers  # a plain presigned GET
    stub.queue("/custom/2.zip", httpx.Response(403, content=b"<Error>expired</Error>"))
    with pytest.raises(AmazonError) as info:
        client.download_customization("https://custom.test/custom/2.zip")
    assert info.value.code == "customization"
    stub.queue(
        "/custom/3.zip", httpx.ReadTimeout("x"), httpx.Response(200, content=b"ok")
    )
    assert client.download_customization("https://custom.test/custom/3.zip") == b"ok"
    with pytest.raises(ValueError):
        client.download_customization("")
    # Not the web: refused in the same words as a link off Amazon's hosts.
    with pytest.raises(AmazonError) as info:
        client.download_customization("file:///etc/passwd")
    assert info.value.code == "download_not_allowed"


def test_download_customizations_keeps_order_and_isolates_failures(stub):
    stub.queue("/custom/a.zip", httpx.Response(200, content=b"A"))
    stub.queue("/custom/b.zip", httpx.Response(403, content=b"expired"))
    stub.queue("/custom/c.zip", httpx.Response(200, content=b"C"))
    built = []
    real = amazon.client._httpx_client

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    client = make_client(stub)
    with mock.patch.object(amazon.client, "_httpx_client", counting):
        results = client.download_customizations(
            [
                "https://custom.test/custom/a.zip",
                "https://custom.test/custom/b.zip",
                "ftp://custom.test/custom/x.zip",
                "https://custom.test/custom/c.zip",
                "https://custom.test/custom/\x01bad.zip",
            ]
        )
        assert client.download_customizations(["https://custom.test/custom/a.zip"])
    assert results[0] == b"A" and results[3] == b"C"
    assert isinstance(results[1], AmazonError)
    assert results[1].code == "customization"
    assert results[2].code == "download_not_allowed"
    # httpx's InvalidURL is no HTTPError: it must not escape as a crash.
    assert isinstance(results[4], AmazonError)
    assert results[4].code == "customization"
    # One HTTP client for every download of this client, then closed with it.
    assert len(built) == 1
    client.close()
    assert client._download_http is None


def test_download_customizations_run_concurrently():
    # Each request waits for three others: downloads made one after the other
    # would break the barrier instead of returning the files.
    barrier = threading.Barrier(4, timeout=10)

    def handle(request):
        barrier.wait()
        return httpx.Response(200, content=request.url.path.encode())

    client = amazon.AmazonClient(
        make_config(),
        http_transport=httpx.MockTransport(handle),
        retries=0,
        resolver=public_resolver,
    )
    urls = [f"https://custom.test/custom/{n}.zip" for n in range(8)]
    results = client.download_customizations(urls, workers=4)
    assert results == [f"/custom/{n}.zip".encode() for n in range(8)]
    client.close()


# -- logging ------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))


def test_no_secret_in_any_log_output(stub):
    names = ["", "sp_api", "sp_api.base.client", "sp_api.auth.access_token_client"]
    names += ["httpx", "httpcore", "amazon", "amazon.client"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    capture = _Capture()
    logging.getLogger().addHandler(capture)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    secrets = [CLIENT_SECRET, REFRESH_TOKEN, "Atzr|unit-new-refresh"]
    try:
        client = make_client(stub)
        client.search_orders(last_updated_after=SINCE)
        client.get_order("1")
        client.rotate_client_secret()
        client.exchange_authorization_code("code", "https://x/cb")
        stub.queue(ORDERS + "/2", httpx.Response(503), httpx.ReadTimeout("t"))
        client.get_order("2")
        stub.queue(TOKEN, json_reply({"error": "invalid_client"}, 401))
        invalidate_access_tokens(client.config)
        with pytest.raises(AmazonError):
            client.get_order("3")
        try:
            raise AmazonError("forbidden", params={"detail": f"echo {CLIENT_SECRET}"})
        except AmazonError:
            logging.getLogger("sp_api.base.client").exception(
                "failed %s", REFRESH_TOKEN
            )
        secrets += [f"Atza|unit-access-{n}" for n in range(1, stub.token_counter + 1)]
    finally:
        logging.getLogger().removeHandler(capture)
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)
    output = "\n".join(capture.lines)
    assert "Request Headers" in output  # the library did log its headers
    assert "x-amz-access-token" in output
    for secret in secrets:
        assert secret not in output
    assert "[redacted]" in output


def test_unusual_secret_formats_are_redacted_too(stub):
    cfg = make_config(client_secret="plain-secret-value", refresh_token="plain-refresh")
    capture = _Capture()
    library = logging.getLogger("sp_api.base.client")
    saved = library.level
    library.addHandler(capture)
    library.setLevel(logging.DEBUG)
    try:
        make_client(stub, config=cfg).get_order("1")
        library.debug("dump %s %s", cfg.client_secret, cfg.refresh_token)
    finally:
        library.removeHandler(capture)
        library.setLevel(saved)
    output = "\n".join(capture.lines)
    assert "plain-secret-value" not in output and "plain-refresh" not in output
    assert "Atza|unit-access-1" not in output


def test_environment_is_left_alone():
    assert "LWA_APP_ID" not in os.environ or os.environ["LWA_APP_ID"] != CLIENT_ID
    assert ChannelConfig(client_id="a", client_secret="b").refresh_token is None
