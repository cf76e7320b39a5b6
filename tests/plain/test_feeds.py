"""Stock both ways in the access layer: the listings feed, patches and FBA
summaries, against the fake Amazon (contract-checked) and as pure functions."""

import gzip
import json

import pytest

from amazon import AmazonClient, AmazonError, ChannelConfig, Pacer, feeds, inventory
from fake_amazon import contract

UK = "A1F83G8C2ARO7P"
DE = "A1PA6795UKMFR9"


@pytest.fixture
def client(fake_app):
    config = ChannelConfig(
        client_id=fake_app["client_id"],
        client_secret=fake_app["client_secret"],
        refresh_token=fake_app["refresh_token"],
        lwa_url=fake_app["lwa_url"],
        endpoint=fake_app["endpoint"],
        marketplace_ids=(UK,),
    )
    with AmazonClient(config, pacer=Pacer(), max_wait=0.5) as amazon_client:
        yield amazon_client


def test_feed_document_matches_amazons_schema():
    document, skus = feeds.build_quantity_feed("ASELLER", [("A", 3), ("B", -2)])
    assert contract.validate_document("listings-feed-schema-v2", document) == []
    assert skus == {1: "A", 2: "B"}
    # Never a negative quantity, whatever Odoo computed.
    assert document["messages"][1]["patches"][0]["value"][0]["quantity"] == 0


def test_report_errors_per_sku_and_feed_level_errors():
    skus = {1: "A", 2: "B", 3: "C"}
    report = {
        "header": {"sellerId": "S", "version": "2.0", "feedId": "1"},
        "issues": [
            {"messageId": 2, "code": "8560", "severity": "ERROR", "message": "bad"},
            {"messageId": 3, "severity": "WARNING", "message": "hmm"},
        ],
        "summary": {"errors": 1, "warnings": 1},
    }
    result = feeds.parse_report(json.dumps(report), skus)
    assert result.errors == {"B": "8560: bad"}
    assert result.accepted == {"A", "C"}
    assert result.warnings == {"C": "hmm"}
    report["issues"].append({"severity": "ERROR", "message": "unreadable"})
    result = feeds.parse_report(report, skus)
    assert result.feed_errors == ["unreadable"] and result.accepted == set()


def test_feed_round_trip_with_a_rejected_sku(fake, fake_app, client):
    seller = fake_app["seller_id"]
    fake.listings.add_offer(seller, "MUG", quantity=1)
    fake.listings.add_offer(seller, "CAP", quantity=1)
    fake.listings.add_offer(seller, "FBA-TEE", fulfilled_by="AMAZON")
    fake.listings.reject(seller, "CAP", message="The listing is suppressed.")
    document, skus = feeds.build_quantity_feed(
        seller, [("MUG", 7), ("CAP", 5), ("FBA-TEE", 2), ("NOPE", 1)]
    )
    submitted = inventory.submit_feed(client, document, [UK])
    statuses = [inventory.get_feed(client, submitted.feed_id).status]
    while statuses[-1] not in inventory.TERMINAL_FEED_STATUSES:
        statuses.append(inventory.get_feed(client, submitted.feed_id).status)
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    status = inventory.get_feed(client, submitted.feed_id)
    result = inventory.feed_result(client, status, skus)
    assert result.accepted == {"MUG"}
    assert set(result.errors) == {"CAP", "FBA-TEE", "NOPE"}
    assert "suppressed" in result.errors["CAP"]
    assert fake.listings.quantity(seller, "MUG") == 7
    assert fake.listings.quantity(seller, "CAP") == 1
    assert fake.listings.quantity(seller, "FBA-TEE") is None
    assert len(fake.calls_to("createFeed")) == 1


def test_a_fatal_feed_is_an_error(fake, fake_app, client):
    status = inventory.FeedStatus("1", "FATAL")
    with pytest.raises(AmazonError) as caught:
        inventory.feed_result(client, status, {})
    assert caught.value.code == "feed_failed"


def test_patch_listings_item(fake, fake_app, client):
    seller = fake_app["seller_id"]
    fake.listings.add_offer(seller, "MUG", quantity=0)
    fake.listings.add_offer(seller, "FBA-TEE", fulfilled_by="AMAZON")
    assert inventory.patch_quantity(client, seller, "MUG", 4, [UK]) == (True, "")
    accepted, message = inventory.patch_quantity(client, seller, "FBA-TEE", 4, [UK])
    assert not accepted and "fulfilled by Amazon" in message
    assert fake.listings.quantity(seller, "MUG") == 4


def test_fba_summaries_over_pages_and_marketplaces(fake, fake_app, client):
    seller = fake_app["seller_id"]
    fake.listings.page_size = 2
    for n in range(5):
        fake.listings.set_fba(seller, UK, f"SKU{n}", n, reserved=1, inbound=2)
    # The same pan-European units show in DE: never counted twice.
    fake.listings.set_fba(seller, DE, "SKU4", 4, reserved=1)
    fake.listings.set_fba(seller, DE, "DE-ONLY", 9)
    stock = inventory.fba_stock(client, [UK, DE])
    assert {sku: s.fulfillable for sku, s in stock.items()} == {
        "SKU0": 0,
        "SKU1": 1,
        "SKU2": 2,
        "SKU3": 3,
        "SKU4": 4,
        "DE-ONLY": 9,
    }
    assert (stock["SKU1"].reserved, stock["SKU1"].inbound) == (1, 2)
    assert len(fake.calls_to("getInventorySummaries")) == 3 + 1


def test_feed_document_links_are_checked(fake_app, client):
    # A presigned link elsewhere than Amazon's S3 (or the fake) is refused.
    with pytest.raises(AmazonError) as caught:
        inventory._transfer(client, "PUT", "https://evil.example/doc", b"{}")
    assert caught.value.code == "download_not_allowed"


def test_fba_read_stops_on_a_token_that_never_ends(monkeypatch):
    calls = []

    def endless(client, marketplace_id, next_token=None):
        calls.append(next_token)
        if len(calls) > 50:
            raise RuntimeError("the read would never end")
        return inventory.SummariesPage(marketplace_id, [], f"token-{len(calls)}")

    monkeypatch.setattr(inventory, "inventory_summaries", endless)
    monkeypatch.setattr(inventory, "MAX_SUMMARY_PAGES", 5)
    with pytest.raises(AmazonError) as caught:
        inventory.fba_stock(None, [UK])
    assert caught.value.code == "unexpected"
    assert len(calls) == 5


class _EndlessResponse:
    """A download whose body never ends, counting what was read of it."""

    headers = {}

    def __init__(self):
        self.read = 0

    def iter_bytes(self):
        while self.read < 10**9:
            self.read += 1024
            yield b"0" * 1024


def test_feed_report_download_and_gzip_are_capped(monkeypatch):
    monkeypatch.setattr(inventory, "MAX_REPORT_BYTES", 64 * 1024)
    response = _EndlessResponse()
    with pytest.raises(AmazonError) as caught:
        inventory._read_capped(response)
    assert caught.value.code == "feed_document"
    assert response.read <= 65 * 1024, "stopped at the cap, not at the end"
    bomb = gzip.compress(b"0" * (10 * 1024 * 1024))
    with pytest.raises(AmazonError) as caught:
        inventory._gunzip(bomb)
    assert "too large" in str(caught.value.params)
    report = json.dumps({"issues": []}).encode()
    assert inventory._gunzip(gzip.compress(report)) == report
    with pytest.raises(AmazonError):
        inventory._gunzip(b"not gzip")
    with pytest.raises(AmazonError):
        inventory._gunzip(gzip.compress(report)[:-12])
