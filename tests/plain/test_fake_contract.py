"""The fake against Amazon's models: violations, shipped examples, no models."""

import subprocess
import sys

import pytest
import requests

from fake_amazon import FakeAmazon, contract, seed

pytestmark = pytest.mark.skipif(
    bool(contract.models_missing_reason()), reason=str(contract.models_missing_reason())
)

SERVED = [
    "searchOrders",
    "getOrder",
    "confirmShipment",
    "getMarketplaceParticipations",
    "rotateApplicationClientSecret",
]


def test_models_load_from_the_shared_folder():
    models = contract.load_models()
    assert {"orders_2026-01-01", "ordersV0", "sellers"} <= set(models)
    op = contract.operation("getOrder")
    assert (op.model, op.method, op.path) == (
        "orders_2026-01-01",
        "GET",
        "/orders/2026-01-01/orders/{orderId}",
    )


def test_bad_request_is_a_violation(fake, fake_client):
    r = fake_client.search(createdAfter="yesterday", includedData="BUYER,SHOE_SIZE")
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "InvalidInput"
    found = fake.take_violations()
    assert any("createdAfter" in v and "date-time" in v for v in found)
    assert any("includedData" in v and "SHOE_SIZE" in v for v in found)


def test_bad_body_is_a_violation(fake, fake_client):
    order = seed.make_order()
    fake.add_order(order)
    path = f"/orders/v0/orders/{order['orderId']}/shipmentConfirmation"
    r = fake_client.request("POST", path, json={"packageDetail": {"trackingNumber": 1}})
    assert r.status_code == 400
    found = fake.take_violations()
    assert any("marketplaceId" in v for v in found)
    assert any("carrierCode" in v for v in found)


def test_bad_response_is_caught():
    problems = contract.validate_response("getOrder", 200, {"order": {"orderId": 1}})
    assert any("createdTime" in p for p in problems)
    assert any("is not of type 'string'" in p for p in problems)
    assert contract.validate_response("getOrder", 418, {}) != []
    assert contract.validate_response("rotateApplicationClientSecret", 204, None) == []


def test_unknown_query_parameters_are_warnings(fake, fake_client):
    r = fake_client.search(createdAfter="2020-01-01T00:00:00Z", MarketplaceId="X")
    assert r.status_code == 200
    assert fake.warnings and "MarketplaceId" in fake.warnings[0]


def _examples():
    for operation_id in SERVED:
        for example in contract.sandbox_examples(operation_id):
            yield pytest.param(
                example, id=f"{operation_id}-{example.status}-{example.kind}"
            )


def test_amazon_response_examples_validate():
    problems = []
    for operation_id in SERVED:
        for example in contract.sandbox_examples(operation_id):
            body = example.response if example.response != {} else None
            problems += contract.validate_response(operation_id, example.status, body)
    assert problems == []


def _setup(fake, example):
    """Put into the fake what Amazon's sandbox had behind an example."""
    app = fake.add_app()
    if example.operation_id == "rotateApplicationClientSecret":
        app.rotation_enrolled = example.status == 204
        return app, None
    body = example.response or {}
    orders = body.get("orders") or ([body["order"]] if "order" in body else [])
    markets = [o["salesChannel"]["marketplaceId"] for o in orders]
    markets += (example.request or {}).get("marketplaceIds", [])
    if example.operation_id == "getMarketplaceParticipations":
        markets = [p["marketplace"]["id"] for p in body["payload"]]
        store = body["payload"][0]["storeName"]
        fake.add_seller("A1EXAMPLESELLER", markets, store)
    for order in orders:
        fake.add_order(order, seller_id="A1EXAMPLESELLER")
    if example.operation_id == "confirmShipment":
        detail = example.request["body"]["packageDetail"]
        item = detail["orderItems"][0]
        order = seed.make_order(
            marketplace=example.request["body"]["marketplaceId"],
            order_id=example.request["orderId"],
            items=[
                {
                    "sku": "SKU-1",
                    "qty": item["quantity"],
                    "unit_price": "9.99",
                    "order_item_id": item["orderItemId"],
                }
            ],
        )
        fake.add_order(order, seller_id="A1EXAMPLESELLER")
    token = fake.add_refresh_token(app.client_id, "A1EXAMPLESELLER", markets or None)
    return app, token


def _access_token(fake, app, refresh_token):
    form = {"client_id": app.client_id, "client_secret": app.client_secret}
    if refresh_token:
        form.update(grant_type="refresh_token", refresh_token=refresh_token)
    else:
        form.update(
            grant_type="client_credentials",
            scope="sellingpartnerapi::client_credential:rotation",
        )
    return requests.post(fake.lwa_url, data=form, timeout=10).json()["access_token"]


def _send(fake, example, token):
    op = contract.operation(example.operation_id)
    request = dict(example.request or {})
    # Tokens of Amazon's sandbox mean nothing to the fake: ask for page one.
    request.pop("paginationToken", None)
    path = op.path
    body = request.pop("body", None)
    for name in list(request):
        if "{" + name + "}" in path:
            path = path.replace("{" + name + "}", request.pop(name))
    params = {k: ",".join(v) if isinstance(v, list) else v for k, v in request.items()}
    return requests.request(
        op.method,
        fake.base_url + path,
        params=params,
        json=body,
        headers={"x-amz-access-token": token},
        timeout=10,
    )


@pytest.mark.parametrize(
    "example", [e for e in _examples() if e.values[0].kind == "static"]
)
def test_sandbox_examples_round_trip(example):
    with FakeAmazon(validate=True) as fake:
        app, refresh_token = _setup(fake, example)
        token = _access_token(fake, app, refresh_token)
        r = _send(fake, example, token)
        assert r.status_code == example.status, r.text
        body = r.json() if r.content else None
        assert (
            contract.validate_response(example.operation_id, r.status_code, body) == []
        )
        expected = example.response or None
        if example.status >= 400:
            # The request itself breaks the model (that is what it tests).
            codes = [e["code"].replace(" ", "") for e in expected["errors"]]
            assert [e["code"] for e in body["errors"]] == codes
            if example.operation_id == "rotateApplicationClientSecret":
                assert body["errors"][0]["message"] == expected["errors"][0]["message"]
            fake.take_violations()
        elif example.operation_id in ("searchOrders", "getOrder"):
            got = body.get("orders") or [body.get("order")]
            want = expected.get("orders") or [expected.get("order")]
            assert got == want
        elif expected is not None:
            assert body == expected
        assert fake.violations == []


def test_validation_skipped_without_models(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPAPI_MODELS_DIR", str(tmp_path / "nowhere"))
    fake = FakeAmazon(validate=True)
    assert fake.validate is False
    assert "nowhere" in fake.validation_skipped_reason
    assert "validation skipped" in capsys.readouterr().err
    with fake:
        app = fake.add_app()
        form = {
            "grant_type": "refresh_token",
            "refresh_token": fake.add_refresh_token(app.client_id),
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
        token = requests.post(fake.lwa_url, data=form, timeout=10).json()[
            "access_token"
        ]
        fake.add_order(seed.make_order())
        r = requests.get(
            fake.base_url + "/orders/2026-01-01/orders",
            params={"createdAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": "5"},
            headers={"x-amz-access-token": token},
            timeout=10,
        )
        assert r.status_code == 200 and len(r.json()["orders"]) == 1
    assert fake.violations == []


def test_cli_prints_credentials():
    code = (
        "import sys, threading;"
        "sys.argv=['x','--port','0','--orders','3','--seed','1'];"
        "import fake_amazon.__main__ as m;"
        "threading.Timer(1.5, lambda: m.STOP.set()).start(); m.main()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=contract.ADDON_ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for word in ("client_id", "client_secret", "refresh_token", "endpoint", "lwa_url"):
        assert word in out.stdout
