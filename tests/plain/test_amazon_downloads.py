"""Customisation links are untrusted: where the access layer may fetch them."""

import http.server
import logging
import threading

import httpx
import pytest
from amazon_helpers import (
    PUBLIC_ADDRESS,
    StubAmazon,
    make_client,
    make_config,
)

from amazon import AmazonClient, AmazonError, links

SECRET_PATH = "t/bR6qHkzSOxuB/J8nbWhze0Bd3DkajkOdY"
SECRET_QUERY = "X-Amz-Signature=5ecret5ignature&X-Amz-Credential=AKIAEXAMPLE"


@pytest.fixture
def stub():
    return StubAmazon()


def _download(client, url):
    with pytest.raises(AmazonError) as info:
        client.download_customization(url)
    return info.value


def _no_secret(error):
    text = f"{error} {error!r} {error.args} {error.params}"
    assert "bR6qHk" not in text and "5ecret" not in text and "AKIA" not in text


def test_host_patterns():
    patterns = ("amazon.com", "s3.*.amazonaws.com", "s3-*.amazonaws.com", "*.com")
    assert links.host_allowed("zme-caps.amazon.com", patterns)
    assert links.host_allowed("ZME-CAPS.Amazon.COM.", patterns)
    assert links.host_allowed("amazon.com", patterns)
    assert links.host_allowed("my.bucket.s3.eu-west-1.amazonaws.com", patterns)
    assert links.host_allowed("bucket.s3-eu-west-1.amazonaws.com", patterns)
    assert not links.host_allowed("evilamazon.com", patterns)
    assert not links.host_allowed("amazon.com.evil.test", patterns)
    assert not links.host_allowed("s3.a.b.amazonaws.com", patterns)
    assert not links.host_allowed("ec2-1-2-3-4.compute-1.amazonaws.com", patterns)
    # "*.com" names no domain of its own: it allows nothing.
    assert not links.host_allowed("example.com", patterns)
    assert not links.host_allowed("169.254.169.254", patterns)


@pytest.mark.parametrize(
    "url",
    [
        # http, even to an allowed host: the link is a credential.
        f"http://custom.test/{SECRET_PATH}?{SECRET_QUERY}",
        f"https://elsewhere.test/{SECRET_PATH}?{SECRET_QUERY}",
        "http://127.0.0.1/x",
        "https://127.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/x",
        # Not the web at all: refused with the same words, not "required".
        f"ftp://custom.test/{SECRET_PATH}?{SECRET_QUERY}",
        "file:///etc/passwd",
    ],
)
def test_links_off_the_allow_list_are_refused_unsent(stub, url):
    error = _download(make_client(stub), url)
    assert error.code == "download_not_allowed" and not error.retryable
    assert stub.requests == []
    _no_secret(error)
    assert "not an https address of Amazon's download servers" in str(error)


@pytest.mark.parametrize(
    "addresses",
    [
        {"169.254.169.254"},
        {"127.0.0.1"},
        {"10.1.2.3"},
        {"192.168.0.10"},
        {"100.64.0.1"},
        {"::1"},
        {"fe80::1%eth0"},
        {"::ffff:127.0.0.1"},
        # One private answer is enough: the connection may pick any of them.
        {PUBLIC_ADDRESS, "172.16.0.1"},
    ],
)
def test_allowed_name_resolving_inside_is_refused_unsent(stub, addresses):
    client = make_client(stub, resolver=lambda host, port: addresses)
    error = _download(client, f"https://custom.test/{SECRET_PATH}?{SECRET_QUERY}")
    assert error.code == "download_private_address"
    assert "https://custom.test" in str(error)
    assert stub.requests == []
    _no_secret(error)


def test_redirects_are_checked_at_every_hop(stub):
    def redirect(location):
        return httpx.Response(302, headers={"Location": location})

    stub.queue("/a.zip", redirect("https://cdn.custom.test/b.zip?sig=1"))
    stub.queue("/b.zip", redirect("/c.zip"))
    stub.queue("/c.zip", httpx.Response(200, content=b"PK"))
    client = make_client(stub)
    assert client.download_customization("https://custom.test/a.zip") == b"PK"
    assert [str(r.url) for r in stub.requests] == [
        "https://custom.test/a.zip",
        "https://cdn.custom.test/b.zip?sig=1",
        "https://cdn.custom.test/c.zip",
    ]
    for location, code in [
        ("http://169.254.169.254/latest/meta-data/", "download_not_allowed"),
        ("http://custom.test/plain.zip", "download_not_allowed"),
        ("https://127.0.0.1:8069/web/database/manager", "download_not_allowed"),
    ]:
        stub.requests.clear()
        stub.queue("/a.zip", redirect(location))
        error = _download(client, "https://custom.test/a.zip")
        assert error.code == code, location
        assert len(stub.requests) == 1
    # A name on the list that resolves inside, reached by a redirect.
    inside = {"custom.test": {PUBLIC_ADDRESS}, "metadata.custom.test": {"169.254.1.1"}}
    client = make_client(stub, resolver=lambda host, port: inside[host])
    stub.requests.clear()
    stub.queue("/a.zip", redirect("https://metadata.custom.test/latest"))
    assert _download(client, "https://custom.test/a.zip").code == (
        "download_private_address"
    )
    assert len(stub.requests) == 1


def test_redirects_are_bounded(stub):
    for _n in range(links.MAX_REDIRECTS + 1):
        stub.queue("/loop.zip", httpx.Response(301, headers={"Location": "/loop.zip"}))
    error = _download(make_client(stub), "https://custom.test/loop.zip")
    assert error.code == "download_redirects"
    assert len(stub.requests) == links.MAX_REDIRECTS + 1
    assert f"more than {links.MAX_REDIRECTS} times" in str(error)


# -- against servers on 127.0.0.1 ---------------------------------------------


class _Server:
    """A loopback HTTP server answering every GET from ``routes``, counting hits."""

    def __init__(self, routes=None):
        self.routes = routes or {}
        self.hits = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                status, headers, body = server.routes.get(
                    self.path.split("?")[0], (200, {}, b"PK-not-for-you")
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def bystander():
    """Another service on the machine, which no order may reach."""
    server = _Server()
    yield server
    server.close()


def _fake_client(fake_app, **changes):
    config = make_config(
        client_id=fake_app["client_id"],
        client_secret=fake_app["client_secret"],
        refresh_token=fake_app["refresh_token"],
        lwa_url=fake_app["lwa_url"],
        endpoint=fake_app["endpoint"],
        marketplace_ids=tuple(fake_app["marketplace_ids"]),
        **changes,
    )
    return AmazonClient(config, retries=0)


def _custom_order_url(fake, fake_app):
    """The customizedUrl the fake serves for a fresh customised order."""
    from fake_amazon.seed import make_order

    order = make_order(
        marketplace="UK",
        seller_id=fake_app["seller_id"],
        items=[{"sku": "MUG", "qty": 1, "unit_price": "9.99"}],
        customization={"text": "Zoë"},
    )
    ref = fake.add_order(order, seller_id=fake_app["seller_id"])
    client = _fake_client(fake_app)
    served = client.get_order(ref)
    return next(
        item["product"]["customization"]["customizedUrl"]
        for item in served["orderItems"]
        if item["product"].get("customization")
    )


def test_the_test_server_origin_only(fake, fake_app, bystander):
    url = _custom_order_url(fake, fake_app)
    assert url.startswith(fake.base_url + "/")
    client = _fake_client(fake_app)
    assert client.download_customization(url).startswith(b"PK")
    port = fake.base_url.rsplit(":", 1)[1]
    for hostile in [
        bystander.base_url + "/x",
        url.replace(fake.base_url, bystander.base_url),
        url.replace(fake.base_url, f"http://localhost:{port}"),
        url.replace(fake.base_url, f"https://127.0.0.1:{port}"),
        url.replace(fake.base_url, f"http://127.0.0.2:{port}"),
    ]:
        assert _download(client, hostile).code == "download_not_allowed", hostile
    assert bystander.hits == []
    # Without the override, the fake's own origin is just another loopback port.
    production = _fake_client(fake_app).config.replace(
        endpoint="https://sellingpartnerapi-eu.amazon.com"
    )
    assert _download(AmazonClient(production), url).code == "download_not_allowed"


def test_redirect_from_the_test_server_stays_on_it(bystander):
    test_server = _Server(
        {
            "/meta": (302, {"Location": "http://169.254.169.254/latest/"}, b""),
            "/port": (302, {"Location": bystander.base_url + "/admin"}, b""),
            "/same": (302, {"Location": "/file.zip"}, b""),
            "/file.zip": (200, {}, b"PK-ok"),
        }
    )
    try:
        client = AmazonClient(make_config(endpoint=test_server.base_url), retries=0)
        assert client.download_customization(test_server.base_url + "/same") == (
            b"PK-ok"
        )
        for path in ("/meta", "/port"):
            error = _download(client, test_server.base_url + path)
            assert error.code == "download_not_allowed"
        assert bystander.hits == []
        assert test_server.hits == ["/same", "/file.zip", "/meta", "/port"]
        client.close()
    finally:
        test_server.close()


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))


def test_httpx_and_httpcore_do_not_log_the_signed_link(fake, fake_app):
    url = _custom_order_url(fake, fake_app)
    signed = f"{url}?{SECRET_QUERY}"
    names = ["httpx", "httpcore", "httpcore.connection", "httpcore.http11"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        client = _fake_client(fake_app)
        assert client.download_customization(signed).startswith(b"PK")
        client.close()
    finally:
        root.removeHandler(capture)
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)
    logged = "\n".join(capture.lines)
    # The request was logged at INFO and DEBUG, just not its link.
    assert "HTTP Request: GET" in logged and "httpcore" in logged
    token = url.rsplit("/", 1)[1]
    assert "5ecret5ignature" not in logged and "AKIAEXAMPLE" not in logged
    assert token not in logged
