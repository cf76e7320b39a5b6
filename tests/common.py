# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import unittest
from datetime import datetime, timedelta, timezone

from odoo import Command
from odoo.tests import HttpCase, TransactionCase

from odoo.addons.sale_amazon_spapi.amazon import Pacer
from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon
from odoo.addons.sale_amazon_spapi.fake_amazon.seed import make_order


class AmazonCommon(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.uk = cls.env.ref("sale_amazon_spapi.marketplace_uk")
        cls.de = cls.env.ref("sale_amazon_spapi.marketplace_de")
        cls.fr = cls.env.ref("sale_amazon_spapi.marketplace_fr")
        cls.us = cls.env.ref("sale_amazon_spapi.marketplace_us")
        cls.account = cls.env["amazon.account"].create(
            {
                "name": "Amazon EU",
                "seller_central_domain": "UK",
                "marketplace_ids": [(6, 0, (cls.uk | cls.de).ids)],
                "lwa_client_id": "amzn1.application-oa2-client.0123456789abcdef",
                "lwa_client_secret": "amzn1.oa2-cs.v1.secretsecretsecret",
                "lwa_refresh_token": "Atzr|IwEBIrefreshtokenrefreshtoken",
                "aws_access_key_id": "AKIAEXAMPLEKEY00",
                "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "seller_id": "A2EXAMPLE12345",
            }
        )


class AmazonImportCommon(TransactionCase):
    """A channel pointed at a fake Amazon on 127.0.0.1, and products to sell."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.fake = FakeAmazon(validate=True).start()
        cls.addClassCleanup(cls.fake.stop)
        app = cls.fake.add_app()
        cls.seller_id = "A2EXAMPLE12345"
        cls.uk = cls.env.ref("sale_amazon_spapi.marketplace_uk")
        cls.de = cls.env.ref("sale_amazon_spapi.marketplace_de")
        refresh_token = cls.fake.add_refresh_token(
            app.client_id,
            seller_id=cls.seller_id,
            marketplace_ids=[cls.uk.marketplace_id, cls.de.marketplace_id],
        )
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.uk")
        # The import never activates a currency itself: the accountant does.
        (cls.env.ref("base.GBP") | cls.env.ref("base.EUR")).active = True
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )
        cls.fba_warehouse = cls.env["stock.warehouse"].create(
            {"name": "Amazon FBA", "code": "FBA", "company_id": cls.company.id}
        )
        cls.account = cls.env["amazon.account"].create(
            {
                "name": "Amazon EU",
                "seller_central_domain": "UK",
                "marketplace_ids": [Command.set((cls.uk | cls.de).ids)],
                "lwa_client_id": app.client_id,
                "lwa_client_secret": app.client_secret,
                "lwa_refresh_token": refresh_token,
                "lwa_auth_url": cls.fake.lwa_url,
                "sp_api_endpoint": cls.fake.base_url,
                "seller_id": cls.seller_id,
                "last_import_datetime": datetime.now() - timedelta(days=60),
                "fba_mode": "both",
                "fba_warehouse_id": cls.fba_warehouse.id,
                "email_errors_to": "ops@example.com",
            }
        )
        cls.tax_group = cls.env["account.tax.group"].create(
            {
                "name": "VAT",
                "company_id": cls.company.id,
                "country_id": cls.env.ref("base.uk").id,
            }
        )
        cls.vat20 = cls.env["account.tax"].create(
            {
                "tax_group_id": cls.tax_group.id,
                "name": "VAT 20% incl.",
                "amount": 20,
                "price_include_override": "tax_included",
                "company_id": cls.company.id,
                "country_id": cls.env.ref("base.uk").id,
            }
        )
        cls.colour = cls.env["product.attribute"].create(
            {
                "name": "Colour",
                "value_ids": [Command.create({"name": n}) for n in ("Red", "Blue")],
            }
        )
        cls.size = cls.env["product.attribute"].create(
            {
                "name": "Size",
                "value_ids": [Command.create({"name": n}) for n in ("M", "XL")],
            }
        )
        cls.tee = cls.env["product.template"].create(
            {
                "name": "Organic Cotton T-Shirt",
                "is_storable": True,
                "taxes_id": [Command.set(cls.vat20.ids)],
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": attribute.id,
                            "value_ids": [Command.set(attribute.value_ids.ids)],
                        }
                    )
                    for attribute in (cls.colour, cls.size)
                ],
            }
        )
        cls.tee.product_variant_ids.default_code = "TEE"
        cls.mug = cls.env["product.product"].create(
            {
                "name": "Ceramic Mug",
                "default_code": "MUG",
                "is_storable": True,
                "amazon_asin": "B0MUG00001",
                "taxes_id": [Command.set(cls.vat20.ids)],
            }
        )
        cls.cap = cls.env["product.product"].create(
            {
                "name": "Baseball Cap",
                "default_code": "CAP",
                "is_storable": True,
                "taxes_id": [Command.set(cls.vat20.ids)],
            }
        )
        for product in (cls.mug, cls.cap):
            cls.env["stock.quant"]._update_available_quantity(
                product, cls.warehouse.lot_stock_id, 100
            )

    def setUp(self):
        super().setUp()
        # Each test starts with Amazon's full request budget.
        Pacer.forget()
        # The fake outlives the test's transaction: start from an empty shop.
        self.fake.store.orders.clear()
        self.fake.clear_faults()
        self.fake.calls.clear()
        self.fake.rate_limits_enabled = False

    def tearDown(self):
        violations = self.fake.take_violations()
        super().tearDown()
        self.assertFalse(violations, "requests/responses outside Amazon's models")

    def add_order(self, **kwargs):
        kwargs.setdefault("marketplace", "UK")
        kwargs.setdefault("created", datetime.now(timezone.utc) - timedelta(days=1))
        kwargs.setdefault("seller_id", self.seller_id)
        validate = kwargs.pop("validate", True)
        order = make_order(**kwargs)
        return self.fake.add_order(
            order, validate=validate, seller_id=kwargs["seller_id"]
        )

    def add_channel(self, seller_id, **vals):
        """Another channel on the fake Amazon, for a seller of its own."""
        app = self.fake.add_app()
        token = self.fake.add_refresh_token(
            app.client_id, seller_id=seller_id, marketplace_ids=[self.uk.marketplace_id]
        )
        return self.env["amazon.account"].create(
            {
                "name": f"Amazon {seller_id}",
                "seller_central_domain": "UK",
                "marketplace_ids": [Command.set(self.uk.ids)],
                "lwa_client_id": app.client_id,
                "lwa_client_secret": app.client_secret,
                "lwa_refresh_token": token,
                "lwa_auth_url": self.fake.lwa_url,
                "sp_api_endpoint": self.fake.base_url,
                "seller_id": seller_id,
                "last_import_datetime": datetime.now() - timedelta(days=60),
                "email_errors_to": "ops@example.com",
                **vals,
            }
        )

    def import_orders(self, account=None, **kwargs):
        return (account or self.account)._import_orders(**kwargs)

    def orders(self, refs=None):
        domain = [("amazon_account_id", "=", self.account.id)]
        if refs is not None:
            domain.append(("amazon_order_ref", "in", refs))
        return self.env["sale.order"].search(domain)

    def amazon_total(self, ref):
        order = self.fake.get_order_dict(ref)
        return float(order["proceeds"]["grandTotal"]["amount"])


class AmazonBrowserCase(HttpCase):
    """Browser tests that fail, instead of Odoo's silent skip, without Chrome.

    They are the project's check of what users see: a CI machine without a
    browser must say so, not pass them unrun.
    """

    def browser_js(self, *args, **kwargs):
        try:
            return super().browser_js(*args, **kwargs)
        except unittest.SkipTest as skip:
            self.fail(
                f"The browser test could not start a headless Chromium ({skip}): "
                "install Debian's chromium package and the websocket-client module "
                "(test-requirements.txt)."
            )
