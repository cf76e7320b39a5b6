# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import unittest
from datetime import datetime, timedelta, timezone

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.sale_amazon_spapi import const
from odoo.addons.sale_amazon_spapi.amazon import Pacer
from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon
from odoo.addons.sale_amazon_spapi.fake_amazon.seed import make_order

# What the administrator copies from the Developer Console into the channel form
# (static/tests/tours/amazon_channel_tour.js types the same values).
CLIENT_ID = "amzn1.application-oa2-client.tour0000000000000001"
CLIENT_SECRET = "amzn1.oa2-cs.v1.tour0secret0000000000000000000001"
APPLICATION_ID = "amzn1.sp.solution.tour0000-0000-0000-0000-000000000001"
SELLER_ID = "A3TOURSELLER01"
ORDER_REFS = ("202-0000001-1000001", "202-0000001-1000002")
UNMAPPED_REF = "202-0000001-1000003"


@tagged("post_install", "-at_install")
class TestTours(HttpCase):
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

    @classmethod
    def _setup_shop(cls):
        """A UK shop selling what the seeded orders hold."""
        company = cls.env.company
        company.country_id = cls.env.ref("base.uk")
        # The import never activates a currency itself: the accountant does.
        cls.env.ref("base.GBP").active = True
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

    def setUp(self):
        super().setUp()
        # Each tour starts with Amazon's full request budget.
        Pacer.forget()

    def browser_js(self, *args, **kwargs):
        # Odoo skips a browser test when it finds no Chrome; the tours are the
        # project's browser check and must not pass silently unrun.
        try:
            return super().browser_js(*args, **kwargs)
        except unittest.SkipTest as skip:
            self.fail(
                f"The tour could not start a headless Chromium ({skip}): install "
                "Debian's chromium package and the websocket-client module "
                "(test-requirements.txt)."
            )

    def _authorised_channel(self, **vals):
        """A channel set up and authorised earlier, with its orders imported."""
        token = self.fake.add_refresh_token(
            CLIENT_ID,
            seller_id=SELLER_ID,
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
                "seller_id": SELLER_ID,
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
