# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import base64
import json
import os
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from odoo import Command, http
from odoo.tests import new_test_user, tagged
from odoo.tests.common import ChromeBrowser

from odoo.addons.sale_amazon_spapi import const
from odoo.addons.sale_amazon_spapi.amazon import Pacer
from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon
from odoo.addons.sale_amazon_spapi.fake_amazon.seed import make_order

from .common import AmazonBrowserCase

# What the administrator copies from the Developer Console into the channel form
# (static/tests/tours/amazon_channel_tour.js types the same values).
CLIENT_ID = "amzn1.application-oa2-client.tour0000000000000001"
CLIENT_SECRET = "amzn1.oa2-cs.v1.tour0secret0000000000000000000001"
APPLICATION_ID = "amzn1.sp.solution.tour0000-0000-0000-0000-000000000001"
SELLER_ID = "A3TOURSELLER01"
# A second seller: its order waiting for a mapping stays out of the others' imports.
MAP_SELLER_ID = "A3TOURSELLER02"
ORDER_REFS = ("202-0000001-1000001", "202-0000001-1000002")
UNMAPPED_REF = "202-0000001-1000003"

# SALE_AMAZON_SPAPI_SCREENSHOTS=readme/images: the tours' screenshot steps
# (static/tests/tours/amazon_tour_utils.js) save PNGs there; without it they
# do nothing. A relative path is the addon's.
SCREENSHOTS_ENV = "SALE_AMAZON_SPAPI_SCREENSHOTS"
SCREENSHOT_SIGNAL = "sale_amazon_spapi screenshot: "
ADDON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@tagged("post_install", "-at_install")
class TestTours(AmazonBrowserCase):
    """The addon in a real browser (headless Chromium), as its users walk it.

    The fake Amazon runs on 127.0.0.1 (fake_amazon/): Seller Central's consent
    page, Login with Amazon and SP-API. The channel's three Amazon addresses
    (LWA Auth URL, SP-API Endpoint, Seller Central URL Override) are the only
    values a tour cannot type, since the fake's port changes from run to run:
    the test makes them the defaults of a new channel (ir.default), the way
    a database pointed at Amazon's sandbox would have them. Everything the
    administrator of a real shop types, the tour types.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo maps the addons' static folders (parsing every manifest) on the
        # first static request; the browser's first requests came in parallel
        # and raced for it, and Python 3.11's AST parser is not thread-safe
        # ("SystemError: AST constructor recursion depth mismatch").
        http.root.statics.get("sale_amazon_spapi")
        cls.fake = FakeAmazon().start()
        cls.addClassCleanup(cls.fake.stop)
        cls.uk = cls.env.ref("sale_amazon_spapi.marketplace_uk")
        cls.de = cls.env.ref("sale_amazon_spapi.marketplace_de")
        # The application registered in the Developer Console, with this
        # database's callback as its OAuth Redirect URI.
        cls.app = cls.fake.add_app(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            application_id=APPLICATION_ID,
            redirect_uris=[cls.base_url() + const.OAUTH_CALLBACK_ROUTE],
        )
        cls.fake.add_seller(
            SELLER_ID, [cls.uk.marketplace_id, cls.de.marketplace_id], "Tour Shop"
        )
        # The seller signed in to (fake) Seller Central approves the consent.
        cls.fake.consent_seller_id = SELLER_ID
        cls._setup_shop()
        created = datetime.now(timezone.utc) - timedelta(days=1)
        for ref, sku, buyer in (
            (ORDER_REFS[0], "MUG", "Ada Tour"),
            (ORDER_REFS[1], "CAP", "Brian Tour"),
        ):
            cls.fake.add_order(
                make_order(
                    order_id=ref,
                    marketplace="UK",
                    items=[{"sku": sku, "qty": 1, "unit_price": "12.00"}],
                    buyer_name=buyer,
                    created=created,
                    seller_id=SELLER_ID,
                ),
                seller_id=SELLER_ID,
            )
        cls.fake.add_seller(MAP_SELLER_ID, [cls.uk.marketplace_id], "Tour Shop 2")
        cls.fake.add_order(
            make_order(
                order_id=UNMAPPED_REF,
                marketplace="UK",
                items=[
                    {
                        "sku": "NEW-MUG",
                        "asin": "B0NEWMUG01",
                        "qty": 2,
                        "unit_price": "12.00",
                    }
                ],
                buyer_name="Carla Tour",
                created=created,
                seller_id=MAP_SELLER_ID,
            ),
            seller_id=MAP_SELLER_ID,
        )
        cls.admin = new_test_user(
            cls.env,
            "tour_admin",
            "base.group_system,sales_team.group_sale_manager,stock.group_stock_user",
            name="Alice Administrator",
        )
        cls.salesman = new_test_user(
            cls.env,
            "tour_salesman",
            "sales_team.group_sale_salesman",
            name="Sam Salesman",
        )
        cls.amazon_manager = new_test_user(
            cls.env,
            "tour_amazon_manager",
            "sales_team.group_sale_salesman_all_leads,"
            "sale_amazon_spapi.group_amazon_manager",
            name="Maya Amazon Manager",
        )

    @classmethod
    def _setup_shop(cls):
        """A UK shop selling what the seeded orders hold."""
        company = cls.env.company
        company.country_id = cls.env.ref("base.uk")
        # The import never activates a currency itself: the accountant does.
        cls.env.ref("base.GBP").active = True
        # The company keeps its currency (dollars here): the Amazon Orders list
        # sums the pounds in dollars, at this rate (1 USD = 0.8 GBP).
        if company.currency_id != cls.env.ref("base.GBP"):
            cls.env["res.currency.rate"].create(
                {
                    "currency_id": cls.env.ref("base.GBP").id,
                    "rate": 0.8,
                    "name": "2000-01-01",
                    "company_id": company.id,
                }
            )
        tax_group = cls.env["account.tax.group"].create(
            {"name": "VAT", "country_id": cls.env.ref("base.uk").id}
        )
        vat20 = cls.env["account.tax"].create(
            {
                "name": "VAT 20% incl.",
                "amount": 20,
                "price_include_override": "tax_included",
                "tax_group_id": tax_group.id,
                "country_id": cls.env.ref("base.uk").id,
            }
        )
        for code, name in (("MUG", "Ceramic Mug"), ("CAP", "Baseball Cap")):
            cls.env["product.product"].create(
                {
                    "name": name,
                    "default_code": code,
                    "is_storable": True,
                    "taxes_id": [Command.set(vat20.ids)],
                }
            )

    # The README's screenshots are this wide.
    browser_size = "1280x800"

    def setUp(self):
        super().setUp()
        # Each tour starts with Amazon's full request budget.
        Pacer.forget()

    def start_tour(self, url_path, tour_name, **kwargs):
        folder = os.environ.get(SCREENSHOTS_ENV)
        if not folder:
            return super().start_tour(url_path, tour_name, **kwargs)
        folder = os.path.join(ADDON_ROOT, folder)
        os.makedirs(folder, exist_ok=True)
        options = {"stepDelay": 0, "startUrl": url_path}
        # The flag lives in localStorage: the tour reads it again after the
        # consent's page loads.
        kwargs["code"] = (
            "localStorage.setItem('sale_amazon_spapi.screenshots', '1'); "
            f"odoo.startTour({tour_name!r}, {json.dumps(options)})"
        )
        with patch.object(
            ChromeBrowser, "_handle_console", _screenshot_console(folder)
        ):
            return super().start_tour(url_path, tour_name, **kwargs)

    def _authorised_channel(self, seller_id=SELLER_ID, **vals):
        """A channel set up and authorised earlier, with its orders imported."""
        token = self.fake.add_refresh_token(
            CLIENT_ID,
            seller_id=seller_id,
            marketplace_ids=[self.uk.marketplace_id, self.de.marketplace_id],
        )
        account = self.env["amazon.account"].create(
            {
                "name": "Amazon UK",
                "seller_central_domain": "UK",
                "marketplace_ids": [Command.set((self.uk | self.de).ids)],
                "lwa_client_id": CLIENT_ID,
                "lwa_client_secret": CLIENT_SECRET,
                "lwa_refresh_token": token,
                "lwa_auth_url": self.fake.lwa_url,
                "sp_api_endpoint": self.fake.base_url,
                "seller_id": seller_id,
                **vals,
            }
        )
        account._import_orders()
        return account

    def test_administrator_sets_up_a_channel(self):
        """Create, authorise through Seller Central, test, import, see the orders."""
        Default = self.env["ir.default"]
        for field, value in (
            ("lwa_auth_url", self.fake.lwa_url),
            ("sp_api_endpoint", self.fake.base_url),
            ("seller_central_url_override", self.fake.seller_central_url),
        ):
            Default.set("amazon.account", field, value)
        self.start_tour(
            "/odoo/action-sale_amazon_spapi.action_amazon_account",
            "sale_amazon_spapi_channel_setup",
            login=self.admin.login,
        )
        account = self.env["amazon.account"].search([("name", "=", "Amazon UK")])
        self.assertEqual(account.seller_id, SELLER_ID)
        self.assertEqual(account.credentials_status, "ok")
        self.assertEqual(set(account.marketplace_ids.mapped("code")), {"UK", "DE"})
        orders = self.env["sale.order"].search([("amazon_account_id", "=", account.id)])
        self.assertEqual(set(orders.mapped("amazon_order_ref")), set(ORDER_REFS))

    def test_salesman_opens_amazon_orders(self):
        """Sales › Orders › Amazon Orders, grouped, and an order's Amazon tab."""
        # The salesman is the channel's Responsible: its orders are his (with
        # "Own Documents Only", the orders of others stay hidden, as in Sales).
        self._authorised_channel(user_id=self.salesman.id)
        self.start_tour(
            "/odoo", "sale_amazon_spapi_salesman_orders", login=self.salesman.login
        )

    def test_amazon_manager_maps_a_sku_from_the_order(self):
        """Map SKU from the unmapped banner; the same quotation is completed."""
        account = self._authorised_channel(MAP_SELLER_ID)
        order = self.env["sale.order"].search([("amazon_account_id", "=", account.id)])
        self.assertEqual(order.amazon_order_ref, UNMAPPED_REF)
        self.assertEqual(order.amazon_unmapped_skus, "NEW-MUG")
        name = order.name
        self.start_tour(
            "/odoo/action-sale_amazon_spapi.action_amazon_orders",
            "sale_amazon_spapi_map_sku",
            login=self.amazon_manager.login,
        )
        self.env.invalidate_all()
        orders = self.env["sale.order"].search([("amazon_account_id", "=", account.id)])
        self.assertEqual(orders, order, "the retry completed the quotation in place")
        self.assertEqual(order.name, name)
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.amazon_unmapped_skus)
        self.assertEqual(order.order_line.product_id.mapped("default_code"), ["MUG"])
        sku_map = self.env["amazon.sku.map"].search([("account_id", "=", account.id)])
        self.assertEqual(sku_map.sku, "NEW-MUG")


def _screenshot_console(folder):
    """ChromeBrowser's console handler, taking the screenshots a tour asks for.

    It runs in the browser's receiving thread, which must not wait for Chrome:
    the capture is asked for, and its answer both saves the PNG and tells the
    waiting tour step (data-amazon-screenshot on <body>) to go on.
    """
    handle_console = ChromeBrowser._handle_console

    def handler(browser, **event):
        args = event.get("args")
        text = args and args[0].get("value")
        if event.get("type") != "log" or not (
            isinstance(text, str) and text.startswith(SCREENSHOT_SIGNAL)
        ):
            return handle_console(browser, **event)
        name = text[len(SCREENSHOT_SIGNAL) :]

        def save(future):
            path = os.path.join(folder, f"{name}.png")
            with open(path, "wb") as f:
                f.write(base64.b64decode(future.result()["data"]))
            browser._logger.info("screenshot %s", path)
            browser._websocket_send(
                "Runtime.evaluate",
                params={
                    "expression": "document.body.dataset.amazonScreenshot = "
                    + json.dumps(name)
                },
            )

        capture = browser._websocket_send(
            "Page.captureScreenshot", params={"format": "png"}, with_future=True
        )
        capture.add_done_callback(save)

    return handler
