"""Amazon's own examples (in its OpenAPI models) through the fake AND the access layer.

test_fake_contract.py sends them to the fake over raw HTTP; here the same examples go
through ``amazon.AmazonClient``, the way the addon calls Amazon, and what the client
returns must be exactly the orders / participations of the example.
"""

from datetime import datetime

import pytest
from test_fake_contract import _setup

from amazon import AmazonClient, ChannelConfig
from fake_amazon import FakeAmazon, contract

OPERATIONS = ("searchOrders", "getOrder", "getMarketplaceParticipations")


def _static_ok_examples():
    if contract.models_missing_reason():
        return []
    return [
        pytest.param(example, id=f"{op}-{index}")
        for op in OPERATIONS
        for index, example in enumerate(contract.sandbox_examples(op))
        if example.kind == "static" and example.status == 200
    ]


@pytest.mark.parametrize("example", _static_ok_examples())
def test_examples_round_trip_through_the_access_layer(example):
    with FakeAmazon(validate=True) as fake:
        app, refresh_token = _setup(fake, example)
        request = dict(example.request or {})
        markets = tuple(request.get("marketplaceIds") or ("A1F83G8C2ARO7P",))
        config = ChannelConfig(
            app.client_id,
            app.client_secret,
            refresh_token=refresh_token,
            lwa_url=fake.lwa_url,
            endpoint=fake.base_url,
            marketplace_ids=markets,
        )
        with AmazonClient(config, max_wait=0) as client:
            if example.operation_id == "searchOrders":
                page = client.search_orders(
                    created_after=datetime.fromisoformat(
                        request["createdAfter"].replace("Z", "+00:00")
                    ),
                    included_data=request["includedData"],
                )
                assert page.orders == example.response["orders"]
                assert page.window_end is not None
            elif example.operation_id == "getOrder":
                order = client.get_order(
                    request["orderId"], included_data=request["includedData"]
                )
                assert order == example.response["order"]
            else:
                participations = client.get_marketplace_participations()
                assert participations == example.response["payload"]
        assert fake.violations == []
        assert fake.warnings == []


def test_there_are_examples_to_round_trip():
    if contract.models_missing_reason():
        pytest.skip(contract.models_missing_reason())
    assert len(_static_ok_examples()) >= 6
