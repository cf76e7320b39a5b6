"""Shared helpers of the access layer tests.

``StubAmazon`` is an in-process ``httpx.MockTransport`` for the cases the fake
server cannot produce on demand (a non-JSON LWA reply, an exact header, a
reset on the n-th request).  The contract itself is tested against
``fake_amazon`` in ``test_amazon_fake.py``.
"""

import json
from datetime import datetime, timezone

import httpx

from amazon import AmazonClient, ChannelConfig, Pacer

CLIENT_ID = "amzn1.application-oa2-client.unit"
CLIENT_SECRET = "amzn1.oa2-cs.v1.unitsecret0123456789"
REFRESH_TOKEN = "Atzr|IwEBunitrefreshtoken0123456789"
LWA_URL = "http://lwa.test/auth/o2/token"
ENDPOINT = "http://spapi.test:8900"
# Customisation files come from this host; it "resolves" to a public address.
DOWNLOAD_HOST = "custom.test"
PUBLIC_ADDRESS = "52.95.110.1"
SINCE = datetime(2025, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    """Monotonic clock and sleep that only move when told to."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class StubAmazon:
    """Answers LWA and SP-API requests from queued responses.

    ``queue(path, response)`` queues one reply (an ``httpx.Response``, an
    exception instance to raise, or a callable taking the request) for a path;
    unqueued paths get the defaults below.
    """

    def __init__(self):
        self.requests = []
        self.queues = {}
        self.token_counter = 0
        self.transport = httpx.MockTransport(self.handle)

    def queue(self, path, *responses):
        self.queues.setdefault(path, []).extend(responses)

    def handle(self, request):
        self.requests.append(request)
        path = request.url.path
        queued = self.queues.get(path)
        if queued:
            reply = queued.pop(0)
            if isinstance(reply, Exception):
                raise reply
            if callable(reply):
                return reply(request)
            return reply
        if path == "/auth/o2/token":
            return self.token_reply(request)
        if path == "/orders/2026-01-01/orders":
            return json_reply(
                {"orders": [], "lastUpdatedBefore": "2025-02-01T00:00:00Z"}
            )
        if path.startswith("/orders/2026-01-01/orders/"):
            order_id = path.rsplit("/", 1)[1]
            return json_reply({"order": {"orderId": order_id}})
        if path == "/sellers/v1/marketplaceParticipations":
            return json_reply({"payload": []})
        if path.endswith("/shipmentConfirmation"):
            return httpx.Response(204, headers={"x-amzn-RequestId": "rid-ship"})
        if path == "/applications/2023-11-30/clientSecret":
            return httpx.Response(204, headers={"x-amzn-RequestId": "rid-rot"})
        return httpx.Response(
            404, json={"errors": [{"code": "NotFound", "message": path}]}
        )

    def token_reply(self, request):
        self.token_counter += 1
        form = dict(httpx.QueryParams(request.content.decode()))
        body = {
            "access_token": f"Atza|unit-access-{self.token_counter}",
            "token_type": "bearer",
            "expires_in": 3600,
        }
        if form.get("grant_type") == "authorization_code":
            body["refresh_token"] = "Atzr|unit-new-refresh"
        return httpx.Response(200, json=body)

    def lwa_forms(self):
        return [
            dict(httpx.QueryParams(r.content.decode()))
            for r in self.requests
            if r.url.path == "/auth/o2/token"
        ]

    def api_requests(self, path_part=""):
        return [
            r
            for r in self.requests
            if r.url.path != "/auth/o2/token" and path_part in r.url.path
        ]


def json_reply(body, status=200, request_id="rid-1", headers=None):
    all_headers = {"x-amzn-RequestId": request_id, "content-type": "application/json"}
    all_headers.update(headers or {})
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers=all_headers
    )


def error_reply(status, code="Error", message="failed", request_id="rid-err"):
    return json_reply(
        {"errors": [{"code": code, "message": message}]},
        status=status,
        request_id=request_id,
    )


def make_config(**overrides):
    values = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "lwa_url": LWA_URL,
        "endpoint": ENDPOINT,
        "marketplace_ids": ("A1PA6795UKMFR9",),
        "download_hosts": (DOWNLOAD_HOST,),
    }
    values.update(overrides)
    return ChannelConfig(**values)


def public_resolver(host, port):
    return {PUBLIC_ADDRESS}


def make_client(stub, config=None, clock=None, **kwargs):
    clock = clock or FakeClock()
    kwargs.setdefault("pacer", Pacer(clock=clock))
    kwargs.setdefault("jitter", lambda: 0.5)
    kwargs.setdefault("resolver", public_resolver)
    return AmazonClient(
        config or make_config(),
        sleep=clock.sleep,
        clock=clock,
        http_transport=stub.transport,
        **kwargs,
    )
