"""The fake Amazon: a real HTTP server (Werkzeug) on 127.0.0.1.

See README.md for what it enforces.  Everything runs in-process; the WSGI
app is served by ``werkzeug.serving.make_server`` in a daemon thread.
"""

import copy
import json
import socket
import struct
import sys
import threading
import time
import uuid
from collections import namedtuple
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import consent, contract, listings_api, lwa, orders_api
from . import marketplaces as mkt
from . import seed as seeding
from .custom_zip import build_zip
from .faults import Faults
from .orders_api import ApiError
from .store import USAGE_PLANS, Clock, Store

Call = namedtuple("Call", "operation params status")

UNAUTHORIZED = ApiError(
    403, "Unauthorized", "Access to requested resource is denied.", ""
)
QUOTA = ApiError(
    429, "QuotaExceeded", "You exceeded your quota for the requested resource.", ""
)

ROUTES = [
    # method, path segments ('{x}' captures), operation
    ("POST", ("auth", "o2", "token"), "token"),
    ("GET", ("orders", "2026-01-01", "orders"), "searchOrders"),
    ("GET", ("orders", "2026-01-01", "orders", "{orderId}"), "getOrder"),
    (
        "POST",
        ("orders", "v0", "orders", "{orderId}", "shipmentConfirmation"),
        "confirmShipment",
    ),
    (
        "GET",
        ("sellers", "v1", "marketplaceParticipations"),
        "getMarketplaceParticipations",
    ),
    (
        "POST",
        ("applications", "2023-11-30", "clientSecret"),
        "rotateApplicationClientSecret",
    ),
    ("GET", ("custom", "{file}"), "customization"),
    ("POST", ("feeds", "2021-06-30", "documents"), "createFeedDocument"),
    (
        "GET",
        ("feeds", "2021-06-30", "documents", "{feedDocumentId}"),
        "getFeedDocument",
    ),
    ("POST", ("feeds", "2021-06-30", "feeds"), "createFeed"),
    ("GET", ("feeds", "2021-06-30", "feeds", "{feedId}"), "getFeed"),
    (
        "PATCH",
        ("listings", "2021-08-01", "items", "{sellerId}", "{sku}"),
        "patchListingsItem",
    ),
    ("GET", ("fba", "inventory", "v1", "summaries"), "getInventorySummaries"),
    # The presigned S3 links of feed documents (no SP-API authorisation).
    ("PUT", ("feed-documents", "{documentId}"), "feedDocument"),
    ("GET", ("feed-documents", "{documentId}"), "feedDocument"),
    # Seller Central, not SP-API: GET shows (or auto-approves) the consent,
    # POST is the demo page's Confirm button.
    ("GET", ("apps", "authorize", "consent"), "consent"),
    ("POST", ("apps", "authorize", "consent"), "consent"),
]
SELLER_OPERATIONS = {
    "searchOrders",
    "getOrder",
    "confirmShipment",
    "getMarketplaceParticipations",
    *listings_api.OPERATIONS,
}


def _route(method, path):
    parts = tuple(p for p in path.split("/") if p)
    for verb, pattern, operation in ROUTES:
        if len(pattern) != len(parts) or verb != method:
            continue
        captured = {}
        for want, got in zip(pattern, parts, strict=True):
            if want.startswith("{"):
                captured[want[1:-1]] = got
            elif want != got:
                break
        else:
            return operation, captured
    return None, {}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass  # tests and the demo do not want an access log on stderr


class _Reset(ConnectionError):
    """Raised after the socket was reset so Werkzeug drops the request."""


class FakeAmazon:
    """In-process fake of LWA and the SP-API operations the addon uses."""

    def __init__(
        self, time_scale=1.0, validate=True, host="127.0.0.1", port=0, start_time=None
    ):
        self.clock = Clock(time_scale, start_time)
        self.store = Store(self.clock)
        self.faults = Faults()
        self.host, self.port = host, port
        self.rate_limits_enabled = False
        self.calls = []
        self.violations = []
        self.warnings = []
        self.shipments = {}
        # Offers, feeds and FBA stock (see listings_api.Listings).
        self.listings = listings_api.Listings(self.clock)
        self.rotations = []
        # Seller Central: the seller signed in when a consent is given (None:
        # the default seller), and whether GET shows a Confirm page (the demo)
        # instead of approving at once (the tests).
        self.consent_seller_id = None
        self.consent_confirm = False
        self.validation_skipped_reason = None
        self.validate = validate
        if validate:
            self.validation_skipped_reason = contract.models_missing_reason()
            if self.validation_skipped_reason:
                self.validate = False
                reason = self.validation_skipped_reason
                # The skip must be visible in any test output, logging set up or not.
                print(  # pylint: disable=print-used
                    f"fake_amazon: validation skipped: {reason}", file=sys.stderr
                )
        self._server = None
        self._thread = None

    # Life cycle --------------------------------------------------------

    def start(self):
        self._server = make_server(
            self.host,
            self.port,
            self.wsgi_app,
            threaded=True,
            request_handler=_QuietHandler,
        )
        self.port = self._server.server_port
        # A short poll keeps stop() (and so each test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return f"http://{self.host}:{self.port}"

    endpoint = base_url

    @property
    def lwa_url(self):
        return self.base_url + "/auth/o2/token"

    @property
    def seller_central_url(self):
        """What a channel's Seller Central URL Override should be."""
        return self.base_url

    # Clock -------------------------------------------------------------

    def now(self):
        return self.clock.now()

    def advance(self, seconds):
        self.clock.advance(seconds)

    # Set-up API --------------------------------------------------------

    def add_app(
        self, client_id=None, client_secret=None, application_id=None, **options
    ):
        """Register an application.

        Options: ``rotation_enrolled``, ``secret_expires_at``, ``redirect_uris``
        (OAuth Redirect URIs the consent page accepts) and ``draft`` (consent
        then needs ``version=beta``).
        """
        return self.store.add_app(client_id, client_secret, application_id, **options)

    def add_seller(self, seller_id=None, marketplace_ids=None, store_name=None):
        return self.store.add_seller(seller_id, marketplace_ids, store_name)

    def add_refresh_token(
        self, client_id, seller_id=None, marketplace_ids=None, token=None
    ):
        return self.store.add_refresh_token(
            client_id, seller_id, marketplace_ids, token
        )

    def revoke_refresh_token(self, refresh_token):
        self.store.refresh_tokens[refresh_token].revoked = True

    def issue_auth_code(self, client_id, redirect_uri, seller_id=None):
        return self.store.issue_auth_code(client_id, redirect_uri, seller_id)

    def add_order(self, order, validate=True, seller_id=None):
        public = seeding.public_copy(order)
        if validate and self.validate:
            problems = contract.validate_schema("orders_2026-01-01", "Order", public)
            if problems:
                raise ValueError(
                    "order does not match the model:\n" + "\n".join(problems)
                )
        record = self.store.add_order(copy.deepcopy(order), seller_id, trusted=validate)
        self.store.apply_due()
        return record.order["orderId"]

    def add_orders(self, orders, validate=True, seller_id=None):
        return [self.add_order(o, validate, seller_id) for o in orders]

    def get_order_dict(self, order_id):
        """The stored order with every dataset (not filtered by status)."""
        self.store.apply_due()
        return copy.deepcopy(self.store.orders[order_id].order)

    def render_order(self, order_id, included_data=()):
        """The order exactly as getOrder would serve it."""
        self.store.apply_due()
        return orders_api.render_order(
            self.store.orders[order_id], included_data, self.base_url
        )

    def set_status(self, order_id, status):
        self.store.set_status(order_id, status)

    def set_ship_window(self, order_id, ship_by, deliver_by=None):
        """Amazon moves the order's ship-by window now (its update time moves)."""
        self.store.set_ship_window(order_id, ship_by, deliver_by)

    def seed_orders(
        self, n, seed=1, marketplace_ids=None, start=None, end=None, **options
    ):
        now = self.now()
        orders = seeding.generate_orders(
            n, seed, marketplace_ids, start=start, end=end or now, now=now, **options
        )
        self.add_orders(orders)
        return [self.get_order_dict(o["orderId"]) for o in orders]

    def set_usage_plan(self, operation, rate, burst):
        """Amazon's plan of ``operation`` on this fake: the rate it advertises in
        ``x-amzn-RateLimit-Limit`` and, with ``rate_limits_enabled``, enforces."""
        if operation not in USAGE_PLANS:
            raise ValueError(f"no usage plan for {operation!r}")
        with self.store.lock:
            self.store.usage_plans[operation] = (float(rate), int(burst))
            self.store.buckets = {
                key: bucket
                for key, bucket in self.store.buckets.items()
                if key[0] != operation
            }

    def inject_fault(self, operation, kind, times=1, **options):
        return self.faults.add(operation, kind, times, **options)

    def clear_faults(self):
        self.faults.clear()

    def take_violations(self):
        """Return and forget the violations (for tests that provoke them)."""
        found, self.violations[:] = list(self.violations), []
        return found

    def calls_to(self, operation):
        return [c for c in self.calls if c.operation == operation]

    def customization_zip(self, order_id, order_item_id):
        record = self.store.orders[order_id]
        item = next(
            i for i in record.order["orderItems"] if i["orderItemId"] == order_item_id
        )
        return build_zip(record.order, item, record.customizations[order_item_id])

    # HTTP --------------------------------------------------------------

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        operation, captured = _route(request.method, request.path)
        if operation is None:
            body = {
                "errors": [
                    {
                        "code": "NotFound",
                        "message": "Resource not found.",
                        "details": "",
                    }
                ]
            }
            return self._json(404, body)(environ, start_response)
        self.store.apply_due()
        return self._dispatch(operation, request, captured)(environ, start_response)

    def _dispatch(self, operation, request, captured):
        params = self._params(operation, request)
        fault = self.faults.take(
            operation,
            lambda f: f.kind != "expired_token" or bool(params.get("paginationToken")),
        )
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault and fault.kind == "reset":
            self.calls.append(Call(operation, params, None))
            self._reset(request)
        if operation == "token":
            response, status = self._token(request, fault)
        elif operation == "customization":
            response, status = self._customization(captured["file"], fault)
        elif operation == "consent":
            response, status = self._consent(request, params, fault)
        elif operation == "feedDocument":
            response, status = self._feed_document(request, captured, fault)
        else:
            response, status = self._sp_api(operation, request, captured, params, fault)
        self.calls.append(Call(operation, params, status))
        return response

    def _params(self, operation, request):
        if request.method == "GET":
            raw = parse_qs(request.query_string.decode(), keep_blank_values=True)
            return {k: v[0] if len(v) == 1 else v for k, v in raw.items()}
        if operation in ("token", "consent"):
            return request.form.to_dict()
        try:
            return json.loads(request.get_data() or b"{}")
        except ValueError:
            return {"_unparseable": request.get_data(as_text=True)[:200]}

    def _reset(self, request):
        # SO_LINGER 0 makes the close abortive (TCP RST); the client has only
        # seen half a status line when the connection dies.
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.sendall(b"HTTP/1.1 2")
                linger = struct.pack("ii", 1, 0)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                # Without the shutdown Werkzeug would keep the connection
                # alive and the client would wait for the rest forever.
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # pylint: disable=except-pass
                # The peer may already be gone: a reset is what was asked for.
                pass
        raise _Reset("fault injected: connection reset")

    def _json(self, status, body, headers=None, malformed=False):
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        if malformed:
            data = data[: max(len(data) // 2, 1)] if data else b"<html>Bad Gateway"
        response = Response(data, status=status, headers=headers or {})
        if body is not None or malformed:
            response.headers["Content-Type"] = "application/json;charset=UTF-8"
        return response

    def _token(self, request, fault):
        if fault and fault.kind == "status":
            body = {
                "error": "server_error",
                "error_description": "The server encountered an error",
            }
            return self._json(fault.status, body), fault.status
        try:
            body = lwa.token(
                self.store, request.form, request.headers.get("Authorization")
            )
            status = 200
        except lwa.LwaError as error:
            body, status = error.body(), error.status
        malformed = bool(fault and fault.kind == "malformed" and status == 200)
        return self._json(status, body, malformed=malformed), status

    def _customization(self, filename, fault):
        if fault and fault.kind == "status":
            return Response(b"", status=fault.status), fault.status
        target = self.store.custom_tokens.get(filename.removesuffix(".zip"))
        if target is None:
            return Response(b"Not Found", status=404), 404
        data = self.customization_zip(*target)
        if fault and fault.kind == "malformed":
            data = data[: len(data) // 3]
        return Response(data, status=200, content_type="application/zip"), 200

    def _consent(self, request, params, fault):
        if fault and fault.kind == "status":
            body = consent.error_page(consent.ConsentError("", "Injected fault."))
            return self._html(fault.status, body), fault.status
        try:
            grant = consent.check(self.store, params)
        except consent.ConsentError as error:
            return self._html(400, consent.error_page(error)), 400
        seller = self.store.add_seller(self.consent_seller_id)
        if request.method == "GET" and self.consent_confirm:
            return self._html(200, consent.confirm_page(grant, params, seller)), 200
        code = self.store.issue_auth_code(
            grant.app.client_id, grant.redirect_uri, seller.seller_id
        )
        location = consent.redirect_location(grant, code, seller.seller_id)
        # 302 like Seller Central, also after the POST of the Confirm page.
        return Response(b"", status=302, headers={"Location": location}), 302

    def _feed_document(self, request, captured, fault):
        if fault and fault.kind == "status":
            return Response(b"", status=fault.status), fault.status
        document_id = captured["documentId"]
        if request.method == "PUT":
            status = self.listings.upload(document_id, request.get_data())
            return Response(b"", status=status), status
        content = self.listings.download(document_id)
        if content is None:
            return Response(b"Not Found", status=404), 404
        return Response(content, status=200, content_type="application/json"), 200

    def _html(self, status, body):
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def _sp_api(self, operation, request, captured, params, fault):
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        headers["x-amzn-RateLimit-Limit"] = str(self.store.usage_plans[operation][0])
        untrusted = False
        try:
            if fault and fault.kind == "status":
                raise ApiError(
                    fault.status, _status_code(fault.status), "Injected fault.", ""
                )
            grant = self._authorize(operation, request)
            key = grant.seller_id or grant.client_id
            if self.rate_limits_enabled and not self.store.take_token(operation, key):
                raise QUOTA
            body = self._json_body(operation, request)
            self._check_request(operation, request, captured, body)
            if fault and fault.kind == "expired_token":
                raise orders_api.invalid(
                    "The paginationToken has expired. Please restart the search."
                )
            status, payload, untrusted = self._handle(
                operation, request, captured, grant, body
            )
        except ApiError as error:
            status, payload = error.status, error.body()
        malformed = bool(fault and fault.kind == "malformed" and status < 300)
        if self.validate and not malformed and not untrusted:
            self.violations += contract.validate_response(operation, status, payload)
        return self._json(status, payload, headers, malformed), status

    def _authorize(self, operation, request):
        token = request.headers.get("x-amz-access-token")
        grant = self.store.access_tokens.get(token or "")
        if grant is None:
            raise UNAUTHORIZED
        if grant.expires_at <= self.clock.now():
            raise ApiError(
                403,
                "Unauthorized",
                UNAUTHORIZED.message,
                "The access token you provided has expired.",
            )
        if operation in SELLER_OPERATIONS and not grant.seller_id:
            raise UNAUTHORIZED
        if (
            operation == "rotateApplicationClientSecret"
            and grant.scope != lwa.ROTATION_SCOPE
        ):
            raise UNAUTHORIZED
        return grant

    def _json_body(self, operation, request):
        if (
            request.method not in ("POST", "PATCH")
            or operation == "rotateApplicationClientSecret"
        ):
            return None
        try:
            return json.loads(request.get_data() or b"null")
        except ValueError as error:
            raise orders_api.invalid(
                f"Request body is not valid JSON: {error}"
            ) from None

    def _check_request(self, operation, request, captured, body):
        if not self.validate:
            return
        query = parse_qs(request.query_string.decode(), keep_blank_values=True)
        problems = contract.validate_request(operation, query, captured, body)
        known = {
            p["name"] for p in contract.operation(operation).spec.get("parameters", [])
        }
        unknown = sorted(set(query) - known)
        if unknown:
            self.warnings.append(
                f"{operation}: ignored unknown query parameters {unknown}"
            )
        if problems:
            self.violations += problems
            raise orders_api.invalid("; ".join(p.split(": ", 1)[-1] for p in problems))

    def _handle(self, operation, request, captured, grant, body):
        query = parse_qs(request.query_string.decode(), keep_blank_values=True)
        if operation in ("searchOrders", "getOrder"):
            params = self._typed_query(operation, query)
            if operation == "searchOrders":
                payload, untrusted = orders_api.search(
                    self.store, grant.seller_id, params, self.base_url
                )
            else:
                payload, untrusted = orders_api.get_order(
                    self.store,
                    grant.seller_id,
                    captured["orderId"],
                    params,
                    self.base_url,
                )
            return 200, payload, untrusted
        if operation == "confirmShipment":
            if not isinstance(body, dict) or "packageDetail" not in body:
                raise orders_api.invalid("A packageDetail is required.")
            orders_api.confirm_shipment(
                self.store, grant.seller_id, captured["orderId"], body
            )
            self.shipments.setdefault(captured["orderId"], []).append(body)
            return 204, None, False
        if operation == "getMarketplaceParticipations":
            return 200, self._participations(grant.seller_id), False
        if operation in listings_api.OPERATIONS:
            status, payload = listings_api.handle(
                self.listings,
                operation,
                grant.seller_id,
                captured,
                query,
                body,
                self.base_url,
            )
            self.violations += self.listings.take_violations()
            return status, payload, False
        return self._rotate(grant)

    def _typed_query(self, operation, query):
        params = {}
        for name, values in query.items():
            param = QUERY_TYPES.get(name)
            if param is None:
                continue
            value, problem = contract.coerce_param(param, values)
            if problem:
                raise orders_api.invalid(problem)
            params[name] = value
        return params

    def _participations(self, seller_id):
        seller = self.store.sellers[seller_id]
        payload = []
        for marketplace_id in seller.marketplace_ids:
            m = mkt.get(marketplace_id)
            payload.append(
                {
                    "marketplace": {
                        "id": m.id,
                        "name": m.name,
                        "countryCode": m.country,
                        "defaultCurrencyCode": m.currency,
                        "defaultLanguageCode": m.language,
                        "domainName": m.domain,
                    },
                    "storeName": seller.store_name,
                    "participation": {
                        "isParticipating": True,
                        "hasSuspendedListings": False,
                    },
                }
            )
        return {"payload": payload}

    def _rotate(self, grant):
        app = self.store.apps[grant.client_id]
        if not app.rotation_enrolled:
            raise orders_api.invalid(
                "Application is not enrolled for rotation notification. "
                "Please update application notification preference in "
                "Developer console."
            )
        old = app.client_secret
        new, old_expiry = self.store.rotate_secret(app)
        self.rotations.append(
            {
                "client_id": app.client_id,
                "application_id": app.application_id,
                "old_secret": old,
                "new_secret": new.value,
                "old_secret_expires_at": old_expiry,
                "new_secret_expires_at": new.expires_at,
                "at": self.now(),
            }
        )
        return 204, None, False


def _status_code(status):
    return {
        400: "InvalidInput",
        403: "Unauthorized",
        404: "NotFound",
        413: "RequestTooLarge",
        415: "UnsupportedMediaType",
        429: "QuotaExceeded",
        500: "InternalFailure",
        503: "ServiceUnavailable",
    }.get(status, "InternalFailure")


# How the Orders query parameters parse (as declared by the model); kept here
# so the fake still works when the models are absent.
QUERY_TYPES = {
    name: {"name": name, "type": kind}
    for name, kind in (
        ("createdAfter", "string"),
        ("createdBefore", "string"),
        ("lastUpdatedAfter", "string"),
        ("lastUpdatedBefore", "string"),
        ("fulfillmentStatuses", "array"),
        ("marketplaceIds", "array"),
        ("fulfilledBy", "array"),
        ("maxResultsPerPage", "integer"),
        ("paginationToken", "string"),
        ("includedData", "array"),
    )
}
