"""The access layer against the fake Amazon (real HTTP, contract-validated)."""

import logging
from datetime import timedelta

import pytest
from amazon_helpers import FakeClock

from amazon import (
    ROTATION_SCOPE,
    AmazonClient,
    AmazonError,
    ChannelConfig,
    Pacer,
    ThrottledError,
    has_cached_access_token,
    invalidate_access_tokens,
)
from amazon.client import TOKEN_CACHE
from amazon.custom import parse_customization_zip
from fake_amazon import FakeAmazon

REDIRECT_URI = "https://odoo.example.com/amazon/oauth/callback"


def _start_fake(**kwargs):
    fake = FakeAmazon(validate=True, **kwargs)
    fake.start()
    return fake


def _app_values(fake, marketplace_ids=("A1PA6795UKMFR9", "A13V1IB3VIYZZH")):
    app = fake.add_app()
    seller = fake.add_seller(marketplace_ids=list(marketplace_ids))
    refresh_token = fake.add_refresh_token(app.client_id, seller.seller_id)
    return {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "refresh_token": refresh_token,
        "seller_id": seller.seller_id,
        "marketplace_ids": list(seller.marketplace_ids),
        "endpoint": fake.base_url,
        "lwa_url": fake.lwa_url,
    }


@pytest.fixture
def amazon_fake(request):
    """The shared ``fake`` fixture when conftest has it, else our own."""
    try:
        yield request.getfixturevalue("fake")
        return
    except pytest.FixtureLookupError:
        pass
    fake = _start_fake()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def amazon_app(request, amazon_fake):
    try:
        return request.getfixturevalue("fake_app")
    except pytest.FixtureLookupError:
        return _app_values(amazon_fake)


@pytest.fixture(autouse=True)
def _isolated_tokens():
    TOKEN_CACHE.clear()
    yield
    TOKEN_CACHE.clear()


@pytest.fixture
def no_violations(amazon_fake):
    yield
    assert amazon_fake.violations == []
    assert amazon_fake.warnings == []


def config_for(app, **overrides):
    values = {
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "refresh_token": app["refresh_token"],
        "lwa_url": app["lwa_url"],
        "endpoint": app["endpoint"],
        "marketplace_ids": tuple(app["marketplace_ids"]),
        "timeout": 5.0,
    }
    values.update(overrides)
    return ChannelConfig(**values)


def client_for(app, clock=None, **kwargs):
    clock = clock or FakeClock()
    kwargs.setdefault("pacer", Pacer(clock=clock))
    config = kwargs.pop("config", None) or config_for(app)
    return AmazonClient(
        config, sleep=clock.sleep, clock=clock, jitter=lambda: 0.5, **kwargs
    )


def _seed(fake, app, n=12, **options):
    options.setdefault("pending_ratio", 0)
    options.setdefault("cancel_ratio", 0)
    orders = fake.seed_orders(
        n, seed=7, marketplace_ids=app["marketplace_ids"], **options
    )
    return {o["orderId"]: o for o in orders}


def _since(fake, days=60):
    return fake.now() - timedelta(days=days)


# -- reading orders ---------------------------------------------------------------


def test_search_all_pages(amazon_fake, amazon_app, no_violations):
    seeded = _seed(amazon_fake, amazon_app, n=12)
    client = client_for(amazon_app)
    pages = list(
        client.iter_orders(last_updated_after=_since(amazon_fake), max_results=5)
    )
    ids = [o["orderId"] for page in pages for o in page.orders]
    assert sorted(ids) == sorted(seeded)
    assert len(pages) == 3 and pages[-1].next_token is None
    assert all(page.request_id for page in pages)
    assert pages[0].window_end is not None
    assert pages[0].window_end <= amazon_fake.now()
    searches = amazon_fake.calls_to("searchOrders")
    assert len(searches) == 3
    assert all(call.status == 200 for call in searches)
    assert "paginationToken" not in searches[0].params
    for call in searches[1:]:
        assert call.params["lastUpdatedAfter"] == searches[0].params["lastUpdatedAfter"]
    # one access token for all pages
    assert len(amazon_fake.calls_to("token")) == 1


def test_search_by_creation_and_status(amazon_fake, amazon_app, no_violations):
    _seed(amazon_fake, amazon_app, n=8, afn_ratio=0)
    client = client_for(amazon_app)
    page = client.search_orders(
        created_after=_since(amazon_fake),
        created_before=amazon_fake.now() - timedelta(minutes=5),
        fulfillment_statuses=["UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"],
        fulfilled_by=["MERCHANT"],
    )
    assert page.orders
    for order in page.orders:
        assert order["fulfillment"]["fulfilledBy"] == "MERCHANT"


def test_get_order_with_included_data(amazon_fake, amazon_app, no_violations):
    seeded = _seed(amazon_fake, amazon_app, n=3, afn_ratio=0)
    order_id = next(iter(seeded))
    order = client_for(amazon_app).get_order(order_id)
    assert order["orderId"] == order_id
    for key in ("orderItems", "buyer", "recipient", "proceeds", "fulfillment"):
        assert key in order
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app).get_order("999-9999999-9999999")
    assert info.value.code == "not_found" and info.value.request_id
    amazon_fake.take_violations()


def test_marketplace_participations(amazon_fake, amazon_app, no_violations):
    participations = client_for(amazon_app).get_marketplace_participations()
    ids = {p["marketplace"]["id"] for p in participations}
    assert ids == set(amazon_app["marketplace_ids"])


# -- credentials ------------------------------------------------------------------


def test_check_credentials_and_revocation(amazon_fake, amazon_app):
    config = config_for(amazon_app)
    client = client_for(amazon_app, config=config)
    assert client.check_credentials()
    client.get_marketplace_participations()
    amazon_fake.revoke_refresh_token(amazon_app["refresh_token"])
    with pytest.raises(AmazonError) as info:
        client.check_credentials()
    assert info.value.code == "invalid_grant"
    assert "Authorise the seller account again" in str(info.value)
    invalidate_access_tokens(config)
    with pytest.raises(AmazonError) as info:
        client.get_marketplace_participations()
    assert info.value.code == "invalid_grant"


def test_wrong_secret_is_invalid_client(amazon_fake, amazon_app):
    config = config_for(amazon_app, client_secret="amzn1.oa2-cs.v1.wrong")
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app, config=config).check_credentials()
    assert info.value.code == "invalid_client" and info.value.status == 401


def test_check_client_credentials_needs_no_refresh_token(
    amazon_fake, amazon_app, no_violations
):
    config = config_for(amazon_app, refresh_token=None)
    client = client_for(amazon_app, config=config)
    assert client.check_client_credentials() is True
    assert client.check_client_credentials() is True
    forms = [c.params for c in amazon_fake.calls_to("token")]
    # Each check asks LWA again: a cached token proves nothing about the secret.
    assert len(forms) == 2
    assert forms[0]["grant_type"] == "client_credentials"
    assert forms[0]["scope"] == ROTATION_SCOPE
    assert "refresh_token" not in forms[0]
    assert has_cached_access_token(config, scope=ROTATION_SCOPE)
    assert not has_cached_access_token(config)


def test_check_client_credentials_wrong_secret(amazon_fake, amazon_app):
    wrong = "amzn1.oa2-cs.v1.wrongsecret42"
    config = config_for(amazon_app, client_secret=wrong, refresh_token=None)
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app, config=config).check_client_credentials()
    assert info.value.code == "invalid_client" and info.value.status == 401
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert not has_cached_access_token(config, scope=ROTATION_SCOPE)


def test_check_client_credentials_after_rotation(amazon_fake, amazon_app):
    old = config_for(amazon_app, refresh_token=None)
    client_for(amazon_app, config=old).rotate_client_secret()
    new = old.replace(client_secret=amazon_fake.rotations[0]["new_secret"])
    # Both secrets work during the 7-day overlap ...
    assert client_for(amazon_app, config=old).check_client_credentials()
    assert client_for(amazon_app, config=new).check_client_credentials()
    amazon_fake.advance(7 * 24 * 3600 + 1)
    assert has_cached_access_token(old, scope=ROTATION_SCOPE)
    # ... then only the new one, even with a token of the old one still cached.
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app, config=old).check_client_credentials()
    assert info.value.code == "invalid_client"
    assert client_for(amazon_app, config=new).check_client_credentials()


def test_code_only_credentials_ignore_environment(
    amazon_fake, amazon_app, monkeypatch, tmp_path
):
    other = amazon_fake.add_app()
    other_rt = amazon_fake.add_refresh_token(other.client_id)
    monkeypatch.setenv("LWA_APP_ID", other.client_id)
    monkeypatch.setenv("LWA_CLIENT_SECRET", other.client_secret)
    monkeypatch.setenv("SP_API_REFRESH_TOKEN", other_rt)
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "US")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    client = client_for(amazon_app)
    client.get_marketplace_participations()
    token_call = amazon_fake.calls_to("token")[-1]
    assert token_call.params["client_id"] == amazon_app["client_id"]
    assert token_call.params["refresh_token"] == amazon_app["refresh_token"]
    # Without a secret in the config nothing is borrowed from the environment.
    config = config_for(amazon_app, client_secret="")
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app, config=config).check_credentials()
    assert info.value.code == "missing_credentials"


def test_token_cache_isolated_between_channels(amazon_fake, amazon_app):
    """A second app whose refresh token string collides gets its own token."""
    other = amazon_fake.add_app()
    first = client_for(amazon_app)
    first.get_marketplace_participations()
    # Same refresh token string, other app: LWA refuses it, and the first
    # channel's cached access token must not be used instead.
    clash = config_for(
        amazon_app, client_id=other.client_id, client_secret=other.client_secret
    )
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app, config=clash).get_marketplace_participations()
    assert info.value.code == "invalid_grant"
    assert len(amazon_fake.calls_to("getMarketplaceParticipations")) == 1


def test_expired_access_token_is_renewed(amazon_fake, amazon_app):
    client = client_for(amazon_app)
    client.get_marketplace_participations()
    amazon_fake.advance(3700)  # the cached token has expired at Amazon
    client.get_marketplace_participations()
    statuses = [c.status for c in amazon_fake.calls_to("getMarketplaceParticipations")]
    assert statuses == [200, 403, 200]
    assert len(amazon_fake.calls_to("token")) == 2


def test_authorization_code_exchange(amazon_fake, amazon_app, no_violations):
    code = amazon_fake.issue_auth_code(
        amazon_app["client_id"], REDIRECT_URI, amazon_app["seller_id"]
    )
    client = client_for(amazon_app, config=config_for(amazon_app, refresh_token=None))
    refresh_token = client.exchange_authorization_code(code, REDIRECT_URI)
    assert refresh_token.startswith("Atzr|")
    form = amazon_fake.calls_to("token")[-1].params
    assert form["redirect_uri"] == REDIRECT_URI
    assert form["grant_type"] == "authorization_code"
    authorised = client_for(
        amazon_app, config=config_for(amazon_app, refresh_token=refresh_token)
    )
    assert authorised.get_marketplace_participations()
    # A code works once.
    with pytest.raises(AmazonError) as info:
        client.exchange_authorization_code(code, REDIRECT_URI)
    assert info.value.code == "invalid_grant"


def test_authorization_code_redirect_uri_must_match(amazon_fake, amazon_app):
    code = amazon_fake.issue_auth_code(amazon_app["client_id"], REDIRECT_URI)
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app).exchange_authorization_code(code, "https://evil/cb")
    assert info.value.code == "invalid_grant"
    assert "redirect_uri" in str(info.value)


def test_rotate_client_secret(amazon_fake, amazon_app, no_violations):
    config = config_for(amazon_app)
    client = client_for(amazon_app, config=config)
    assert client.rotate_client_secret()
    assert len(amazon_fake.rotations) == 1
    token_call = amazon_fake.calls_to("token")[-1]
    assert token_call.params["grant_type"] == "client_credentials"
    assert token_call.params["scope"] == "sellingpartnerapi::client_credential:rotation"
    assert "refresh_token" not in token_call.params
    new_secret = amazon_fake.rotations[0]["new_secret"]
    rotated = config.replace(client_secret=new_secret)
    invalidate_access_tokens(rotated)
    client_for(amazon_app, config=rotated).check_credentials()
    assert amazon_fake.calls_to("token")[-1].params["client_secret"] == new_secret


def test_rotation_not_enrolled(amazon_fake):
    app = amazon_fake.add_app(rotation_enrolled=False)
    values = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "refresh_token": None,
        "lwa_url": amazon_fake.lwa_url,
        "endpoint": amazon_fake.base_url,
        "marketplace_ids": ["A1PA6795UKMFR9"],
    }
    with pytest.raises(AmazonError) as info:
        client_for(values).rotate_client_secret()
    assert info.value.code == "bad_request"
    assert "not enrolled" in str(info.value)
    amazon_fake.take_violations()


# -- shipping ---------------------------------------------------------------------


def test_confirm_shipment(amazon_fake, amazon_app, no_violations):
    seeded = _seed(amazon_fake, amazon_app, n=6, afn_ratio=0)
    order_id = next(iter(seeded))
    amazon_fake.set_status(order_id, "UNSHIPPED")
    client = client_for(amazon_app)
    order = client.get_order(order_id)
    item = order["orderItems"][0]
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "DHL",
        "trackingNumber": "JJD000390007",
        "shipDate": amazon_fake.now() - timedelta(hours=1),
        "orderItems": [
            {"orderItemId": item["orderItemId"], "quantity": item["quantityOrdered"]}
        ],
    }
    marketplace_id = order["salesChannel"]["marketplaceId"]
    assert client.confirm_shipment(order_id, marketplace_id, detail)
    sent = amazon_fake.shipments[order_id][0]
    assert sent["marketplaceId"] == marketplace_id
    assert sent["packageDetail"]["trackingNumber"] == "JJD000390007"
    assert sent["packageDetail"]["shipDate"].endswith("Z")
    # Amazon refuses a second confirmation of the shipped items.
    with pytest.raises(AmazonError) as info:
        client.confirm_shipment(order_id, marketplace_id, detail)
    assert info.value.code == "bad_request" and info.value.request_id
    amazon_fake.take_violations()


# -- faults -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, code",
    [(400, "bad_request"), (403, "forbidden"), (404, "not_found")],
)
def test_status_faults(amazon_fake, amazon_app, status, code):
    amazon_fake.inject_fault("getMarketplaceParticipations", "status", status=status)
    with pytest.raises(AmazonError) as info:
        client_for(amazon_app).get_marketplace_participations()
    assert info.value.code == code and info.value.status == status
    assert info.value.request_id
    amazon_fake.take_violations()


def test_server_errors_are_retried(amazon_fake, amazon_app):
    clock = FakeClock()
    amazon_fake.inject_fault("getMarketplaceParticipations", "status", 2, status=503)
    client = client_for(amazon_app, clock=clock)
    assert client.get_marketplace_participations()
    assert len(clock.sleeps) == 2
    amazon_fake.inject_fault("getMarketplaceParticipations", "status", 9, status=500)
    with pytest.raises(AmazonError) as info:
        client.get_marketplace_participations()
    assert info.value.code == "unavailable" and info.value.params["attempts"] == 4
    assert info.value.request_id
    amazon_fake.clear_faults()
    amazon_fake.take_violations()


def test_reset_connection_is_retried(amazon_fake, amazon_app):
    amazon_fake.inject_fault("searchOrders", "reset")
    # Short timeout: depending on the server the reset may only show as silence.
    client = client_for(amazon_app, config=config_for(amazon_app, timeout=1.0))
    page = client.search_orders(last_updated_after=_since(amazon_fake))
    assert page.orders == []
    statuses = [c.status for c in amazon_fake.calls_to("searchOrders")]
    assert statuses == [None, 200]


def test_slow_reply_times_out(amazon_fake, amazon_app):
    amazon_fake.inject_fault("getMarketplaceParticipations", "slow", 2, delay=1.5)
    config = config_for(amazon_app, timeout=0.5)
    client = client_for(amazon_app, config=config, retries=1)
    with pytest.raises(AmazonError) as info:
        client.get_marketplace_participations()
    assert info.value.code == "unavailable"
    assert "timeout" in str(info.value)


def test_malformed_reply(amazon_fake, amazon_app):
    amazon_fake.inject_fault("searchOrders", "malformed", 2)
    _seed(amazon_fake, amazon_app, n=2)
    client = client_for(amazon_app, retries=1)
    with pytest.raises(AmazonError) as info:
        client.search_orders(last_updated_after=_since(amazon_fake))
    assert info.value.code == "malformed" and info.value.request_id
    amazon_fake.inject_fault("searchOrders", "malformed", 1)
    assert client_for(amazon_app).search_orders(last_updated_after=_since(amazon_fake))


def test_lwa_faults(amazon_fake, amazon_app):
    clock = FakeClock()
    amazon_fake.inject_fault("token", "status", 1, status=500)
    amazon_fake.inject_fault("token", "malformed", 1)
    assert client_for(amazon_app, clock=clock).check_credentials()
    assert [c.status for c in amazon_fake.calls_to("token")] == [500, 200, 200]
    amazon_fake.inject_fault("token", "reset", 1)
    config = config_for(amazon_app, timeout=1.0)
    assert client_for(amazon_app, config=config).check_credentials()


def test_expired_pagination_token(amazon_fake, amazon_app):
    _seed(amazon_fake, amazon_app, n=6)
    client = client_for(amazon_app)
    first = client.search_orders(last_updated_after=_since(amazon_fake), max_results=2)
    amazon_fake.inject_fault("searchOrders", "expired_token")
    with pytest.raises(AmazonError) as info:
        client.search_orders(
            last_updated_after=_since(amazon_fake),
            max_results=2,
            pagination_token=first.next_token,
        )
    assert info.value.code == "pagination_expired"
    assert not info.value.retryable
    amazon_fake.take_violations()


def test_customization_download(amazon_fake, amazon_app):
    seeded = _seed(amazon_fake, amazon_app, n=10, custom_ratio=1.0)
    client = client_for(amazon_app)
    order = client.get_order(next(iter(seeded)))
    item = next(i for i in order["orderItems"] if i["product"].get("customization"))
    url = item["product"]["customization"]["customizedUrl"]
    data = client.download_customization(url)
    parsed = parse_customization_zip(data, "medium")
    assert parsed["text"] and parsed["fields"]
    amazon_fake.inject_fault("customization", "status", 1, status=404)
    with pytest.raises(AmazonError) as info:
        client.download_customization(url)
    assert info.value.code == "customization"
    amazon_fake.inject_fault("customization", "malformed", 1)
    with pytest.raises(AmazonError) as info:
        parse_customization_zip(client.download_customization(url))
    assert info.value.code == "customization"


# -- rate limits ------------------------------------------------------------------


@pytest.fixture
def limited_fake():
    fake = _start_fake()
    fake.rate_limits_enabled = True
    try:
        yield fake
    finally:
        fake.stop()


def _linked_clock(fake):
    """Our pacer's clock and sleep move the fake's clock along."""
    clock = FakeClock()

    def sleep(seconds):
        clock.sleep(seconds)
        fake.advance(seconds)

    clock.sleep_and_advance = sleep
    return clock


def test_pacer_stops_before_amazon_throttles(limited_fake):
    app = _app_values(limited_fake)
    clock = _linked_clock(limited_fake)
    pacer = Pacer(clock=clock)
    client = AmazonClient(
        config_for(app), pacer=pacer, sleep=clock.sleep_and_advance, clock=clock
    )
    since = _since(limited_fake)
    for _ in range(20):
        client.search_orders(last_updated_after=since)
    with pytest.raises(ThrottledError) as info:
        client.search_orders(last_updated_after=since)
    assert info.value.status is None  # refused locally, Amazon never saw it
    assert all(c.status == 200 for c in limited_fake.calls_to("searchOrders"))
    # The next run resumes once Amazon's bucket has a token again.
    clock.now += 180
    limited_fake.advance(180)
    AmazonClient(config_for(app), pacer=pacer, clock=clock).search_orders(
        last_updated_after=since
    )
    assert limited_fake.calls_to("searchOrders")[-1].status == 200


def test_amazon_429_becomes_throttled_error(limited_fake):
    app = _app_values(limited_fake)
    clock = _linked_clock(limited_fake)
    # A pacer that believes in a bigger burst than Amazon grants.
    pacer = Pacer(plans={"searchOrders": (0.0056, 100)}, clock=clock)
    client = AmazonClient(
        config_for(app), pacer=pacer, sleep=clock.sleep_and_advance, clock=clock
    )
    since = _since(limited_fake)
    with pytest.raises(ThrottledError) as info:
        for _ in range(25):
            client.search_orders(last_updated_after=since)
    assert info.value.status == 429 and info.value.request_id
    statuses = [c.status for c in limited_fake.calls_to("searchOrders")]
    assert statuses.count(200) == 20 and statuses[-1] == 429
    assert len(statuses) == 21  # no hammering after the 429


def test_getorder_429_waits_and_retries(limited_fake):
    app = _app_values(limited_fake)
    seeded = _seed(limited_fake, app, n=1)
    order_id = next(iter(seeded))
    clock = _linked_clock(limited_fake)
    pacer = Pacer(plans={"getOrder": (0.5, 100)}, clock=clock)
    client = AmazonClient(
        config_for(app), pacer=pacer, sleep=clock.sleep_and_advance, clock=clock
    )
    for _ in range(32):
        client.get_order(order_id)
    statuses = [c.status for c in limited_fake.calls_to("getOrder")]
    assert statuses.count(429) >= 1 and statuses[-1] == 200
    assert statuses.count(200) == 32
    # the header told the pacer Amazon's real rate
    assert pacer.bucket("getOrder").rate == pytest.approx(0.5)


# -- logs -------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(logging.Formatter("%(name)s %(message)s").format(record))


def test_no_secret_in_logs_against_fake(amazon_fake, amazon_app):
    names = ["", "sp_api", "sp_api.base.client", "sp_api.auth.access_token_client"]
    names += ["httpx", "httpcore", "httpcore.http11", "httpcore.connection"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    capture = _Capture()
    logging.getLogger().addHandler(capture)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        _seed(amazon_fake, amazon_app, n=3)
        client = client_for(amazon_app)
        list(client.iter_orders(last_updated_after=_since(amazon_fake)))
        client.check_credentials()
        amazon_fake.inject_fault("getMarketplaceParticipations", "status", status=403)
        with pytest.raises(AmazonError):
            client.get_marketplace_participations()
        client.rotate_client_secret()
        code = amazon_fake.issue_auth_code(amazon_app["client_id"], REDIRECT_URI)
        new_refresh = client.exchange_authorization_code(code, REDIRECT_URI)
        amazon_fake.revoke_refresh_token(amazon_app["refresh_token"])
        with pytest.raises(AmazonError):
            client.check_credentials()
    finally:
        logging.getLogger().removeHandler(capture)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
    output = "\n".join(capture.records)
    assert "x-amz-access-token" in output
    secrets = [amazon_app["client_secret"], amazon_app["refresh_token"], new_refresh]
    secrets += list(amazon_fake.store.access_tokens)
    secrets += [r["new_secret"] for r in amazon_fake.rotations]
    for secret in secrets:
        assert secret not in output
    amazon_fake.take_violations()
