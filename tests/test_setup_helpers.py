# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import datetime, timedelta, timezone

from lxml import etree

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import AmazonBrowserCase, AmazonCommon, AmazonImportCommon


def _cap(qty=1):
    return {"sku": "CAP", "qty": qty, "unit_price": "10.00", "vat_rate": "0.20"}


@tagged("post_install", "-at_install")
class TestSetupHelpers(AmazonCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            "amz_setup_manager",
            groups="base.group_user,sale_amazon_spapi.group_amazon_manager",
        )
        cls.salesman = new_test_user(
            cls.env,
            "amz_setup_salesman",
            groups="sales_team.group_sale_salesman_all_leads",
        )

    def _company(self, country_xmlid, name):
        return self.env["res.company"].create(
            {"name": name, "country_id": self.env.ref(country_xmlid).id}
        )

    # --- Seller Central Domain from the company's country --- #

    def test_seller_central_domain_follows_company_country(self):
        Account = self.env["amazon.account"]
        company = self.env.company
        for country, domain in (
            ("base.uk", "UK"),
            ("base.de", "DE"),
            ("base.fr", "FR"),
            ("base.ie", "IE"),
            ("base.tr", "TR"),
            ("base.us", "US"),
            ("base.ca", "CA"),
            ("base.jp", "JP"),
            ("base.au", "AU"),
            ("base.in", "IN"),
            ("base.ae", "AE"),
            ("base.ch", False),
        ):
            company.country_id = self.env.ref(country)
            with self.subTest(country=country):
                self.assertEqual(
                    Account.default_get(["seller_central_domain"]).get(
                        "seller_central_domain", False
                    ),
                    domain,
                )

    def test_seller_central_domain_from_the_channel_company(self):
        self.env.company.country_id = self.env.ref("base.us")
        german = self._company("base.de", "Amazon Setup DE")
        self.env.user.company_ids |= german
        defaults = (
            self.env["amazon.account"]
            .with_context(default_company_id=german.id)
            .default_get(["seller_central_domain"])
        )
        self.assertEqual(defaults["seller_central_domain"], "DE")
        # Created by code without a domain: the company's, else the former default.
        channel = self.env["amazon.account"].create(
            {"name": "Amazon DE", "company_id": german.id}
        )
        self.assertEqual(channel.seller_central_domain, "DE")
        self.assertEqual(channel.region, "eu")
        swiss = self._company("base.ch", "Amazon Setup CH")
        channel = self.env["amazon.account"].create(
            {"name": "Amazon CH", "company_id": swiss.id}
        )
        self.assertEqual(channel.seller_central_domain, "US")

    def test_form_defaults_domain_region_and_marketplaces(self):
        self.env.company.country_id = self.env.ref("base.uk")
        form = Form(self.env["amazon.account"])
        form.name = "Amazon UK"
        self.assertEqual(form.seller_central_domain, "UK")
        self.assertEqual(form.region, "eu")
        form.marketplace_ids.add(self.uk)
        form.marketplace_ids.add(self.de)
        form.seller_central_domain = "DE"
        self.assertEqual(len(form.marketplace_ids), 2, "same region: kept")
        form.seller_central_domain = "US"
        self.assertEqual(form.region, "na")
        self.assertEqual(len(form.marketplace_ids), 0, "other region: removed")
        form.marketplace_ids.add(self.us)
        channel = form.save()
        self.assertEqual(channel.marketplace_ids, self.us)

    def test_form_leaves_domain_empty_without_seller_central(self):
        self.env.company.country_id = self.env.ref("base.ch")
        form = Form(self.env["amazon.account"])
        form.name = "Amazon CH"
        self.assertFalse(form.seller_central_domain)
        self.assertFalse(form.region)
        form.seller_central_domain = "DE"
        self.assertEqual(form.save().region, "eu")

    # --- FBA warehouse in one click --- #

    def test_create_fba_warehouse_as_amazon_manager(self):
        Warehouse = self.env["stock.warehouse"]
        # An Amazon administrator who may not create warehouses himself.
        self.assertFalse(self.manager.has_group("stock.group_stock_manager"))
        with self.assertRaises(AccessError):
            Warehouse.with_user(self.manager).create({"name": "X", "code": "X"})
        # A company of its own: no FBA warehouse yet, whatever the database holds.
        company = self._company("base.uk", "Amazon Setup FBA")
        self.manager.write({"company_ids": [Command.link(company.id)]})
        self.manager.company_id = company
        channel = self.env["amazon.account"].create(
            {"name": "Amazon EU", "company_id": company.id}
        )
        Account = self.env["amazon.account"].with_user(self.manager)
        # A new channel is an administrator's (only they can finish one).
        with self.assertRaises(AccessError):
            Account.action_create_fba_warehouse(
                company_id=company.id, channel_name="Amazon EU"
            )
        # A saved channel: its company and name.
        account = channel.with_user(self.manager)
        values = account.action_create_fba_warehouse()
        warehouse = Warehouse.browse(values["id"])
        self.assertEqual(warehouse.name, "Amazon FBA (Amazon EU)")
        self.assertEqual(warehouse.code, "FBA")
        self.assertEqual(warehouse.company_id, company)
        self.assertEqual(values["display_name"], warehouse.display_name)
        # Name and short name stay unique.
        second = Warehouse.browse(account.action_create_fba_warehouse()["id"])
        self.assertEqual(second.name, "Amazon FBA (Amazon EU) 2")
        self.assertEqual(second.code, "FBA2")
        self.assertLessEqual(len(second.code), 5)
        account.write({"fba_mode": "afn", "fba_warehouse_id": second.id})
        self.assertEqual(channel.fba_warehouse_id, second)
        # The administrator's new channel: the form passes its company and name.
        third = self.env["amazon.account"].action_create_fba_warehouse(
            company_id=company.id, channel_name="Amazon US"
        )
        third = Warehouse.browse(third["id"])
        self.assertEqual((third.name, third.code), ("Amazon FBA (Amazon US)", "FBA3"))
        self.assertEqual(third.company_id, company)

    def test_create_fba_warehouse_needs_channel_rights(self):
        with self.assertRaises(AccessError):
            self.account.with_user(self.salesman).action_create_fba_warehouse()
        with self.assertRaises(AccessError):
            self.env["amazon.account"].with_user(
                self.salesman
            ).action_create_fba_warehouse(channel_name="Amazon EU")
        other = self._company("base.de", "Amazon Setup Other")
        with self.assertRaises(AccessError):
            self.env["amazon.account"].with_user(
                self.manager
            ).action_create_fba_warehouse(company_id=other.id)
        self.assertFalse(
            self.env["stock.warehouse"].search(
                [("company_id", "=", other.id), ("code", "=like", "FBA%")]
            )
        )

    def test_fba_warehouse_button_replaces_create_and_edit(self):
        arch = etree.fromstring(
            self.env["amazon.account"].get_view(view_type="form")["arch"]
        )
        (field,) = arch.xpath("//field[@name='fba_warehouse_id']")
        self.assertIn("'no_create': True", field.get("options"))
        (button,) = arch.xpath("//widget[@name='amazon_fba_warehouse_button']")
        self.assertEqual(button.get("invisible"), "fba_warehouse_id")
        # Shown with the field: only for a mode importing FBA orders.
        self.assertEqual(button.getparent(), field.getparent())
        self.assertEqual(field.getparent().get("invisible"), "fba_mode == 'mfn'")
        # Those who cannot configure the channel do not get it.
        arch = etree.fromstring(
            self.env["amazon.account"]
            .with_user(self.salesman)
            .get_view(view_type="form")["arch"]
        )
        self.assertFalse(arch.xpath("//widget[@name='amazon_fba_warehouse_button']"))

    # --- The order's page in Seller Central --- #

    def test_order_links_to_seller_central(self):
        partner = self.env["res.partner"].create({"name": "Amazon Buyer"})
        Order = self.env["sale.order"]
        order, odd, manual = Order.create(
            [
                {
                    "partner_id": partner.id,
                    "amazon_account_id": self.account.id,
                    "amazon_order_ref": ref,
                }
                for ref in ("205-1234567-1234567", "205/1 2?x=1", False)
            ]
        )
        self.assertEqual(
            order.amazon_seller_central_url,
            "https://sellercentral.amazon.co.uk/orders-v3/order/205-1234567-1234567",
        )
        self.assertTrue(
            odd.amazon_seller_central_url.endswith(
                "/orders-v3/order/205%2F1%202%3Fx%3D1"
            )
        )
        self.assertFalse(manual.amazon_seller_central_url)
        self.assertFalse(
            Order.new({"partner_id": partner.id}).amazon_seller_central_url
        )
        # A salesman sees the link; the administrator's override applies.
        self.account.seller_central_url_override = (
            "https://sellercentral-europe.amazon.com"
        )
        order.invalidate_recordset()
        self.assertEqual(
            order.with_user(self.salesman).amazon_seller_central_url,
            "https://sellercentral-europe.amazon.com/orders-v3/order/205-1234567-1234567",
        )
        self.account.seller_central_url_override = False
        self.account.seller_central_domain = "DE"
        self.assertTrue(
            order.amazon_seller_central_url.startswith(
                "https://sellercentral.amazon.de/"
            )
        )

    def test_order_form_shows_the_link(self):
        arch = etree.fromstring(
            self.env["sale.order"].get_view(view_type="form")["arch"]
        )
        (field,) = arch.xpath(
            "//page[@name='amazon']//field[@name='amazon_seller_central_url']"
        )
        self.assertEqual(field.get("widget"), "url")
        self.assertEqual(field.get("text"), "Open in Seller Central")


@tagged("post_install", "-at_install")
class TestFirstImportNow(AmazonImportCommon):
    def _fresh_channel(self, seller_id, **vals):
        return self.add_channel(seller_id, last_import_datetime=False, **vals)

    def _wizard(self, channel, user=None):
        action = channel.with_user(user or self.env.user).action_open_import_now()
        self.assertEqual(action["res_model"], "amazon.import.now.wizard")
        return (
            self.env["amazon.import.now.wizard"]
            .with_user(user or self.env.user)
            .with_context(**action["context"])
            .create({})
        )

    def test_first_import_says_its_period_and_reaches_further(self):
        channel = self._fresh_channel("A3FIRSTIMPORT1")
        now = datetime.now(timezone.utc)
        recent = self.add_order(
            items=[_cap()], seller_id="A3FIRSTIMPORT1", created=now - timedelta(days=1)
        )
        older = self.add_order(
            items=[_cap()], seller_id="A3FIRSTIMPORT1", created=now - timedelta(days=20)
        )
        salesman = new_test_user(
            self.env, "amz_first_import", groups="sales_team.group_sale_salesman"
        )
        wizard = self._wizard(channel, salesman)
        self.assertEqual(wizard.account_id, channel)
        expected = fields.Datetime.now() - timedelta(days=channel.lookback_days)
        self.assertAlmostEqual(
            wizard.import_start, expected, delta=timedelta(minutes=1)
        )
        self.assertIn("(the last 3 days)", wizard.period_text)
        wizard.import_start = fields.Datetime.now() - timedelta(days=30)
        self.assertIn("(the last 30 days)", wizard.period_text)
        action = wizard.action_import()
        self.assertIn("2 new order(s)", action["params"]["message"])
        self.assertEqual(
            action["params"]["next"]["type"], "ir.actions.act_window_close"
        )
        refs = set(
            self.env["sale.order"]
            .search([("amazon_account_id", "=", channel.id)])
            .mapped("amazon_order_ref")
        )
        self.assertEqual(refs, {recent, older})
        # Later imports are direct.
        action = channel.with_user(salesman).action_open_import_now()
        self.assertEqual(action["tag"], "display_notification")

    def test_first_import_bounds(self):
        channel = self._fresh_channel("A3FIRSTBOUNDS1")
        wizard = self._wizard(channel)
        wizard.import_start = fields.Datetime.now() - timedelta(days=800)
        with self.assertRaisesRegex(UserError, "730 days"):
            wizard.action_import()
        wizard.import_start = fields.Datetime.now() + timedelta(days=1)
        with self.assertRaisesRegex(UserError, "past"):
            wizard.action_import()
        self.assertFalse(self.fake.calls_to("searchOrders"))
        self.assertFalse(channel.last_import_run)

    def test_import_now_goes_straight_on_when_it_cannot_ask(self):
        # A channel that imported already, or that cannot import: no wizard.
        channel = self._fresh_channel("A3IMPORTEDON1")
        channel.last_import_run = fields.Datetime.now() - timedelta(days=1)
        action = channel.action_open_import_now()
        self.assertEqual(action["tag"], "display_notification")
        channel = self._fresh_channel("A3NOTAUTHORI1")
        channel.sudo().lwa_refresh_token = False
        with self.assertRaisesRegex(UserError, "not authorised"):
            channel.action_open_import_now()

    def test_import_button_opens_the_first_import(self):
        arch = etree.fromstring(
            self.env["amazon.account"].get_view(view_type="form")["arch"]
        )
        buttons = arch.xpath("//header/button[@string='Import Orders Now']")
        self.assertEqual(
            [button.get("name") for button in buttons], ["action_open_import_now"]
        )
        self.assertIn("'missing'", buttons[0].get("invisible"))


@tagged("post_install", "-at_install")
class TestSetupHelpersTour(AmazonBrowserCase):
    def test_fba_warehouse_in_one_click(self):
        self.env.company.country_id = self.env.ref("base.uk")
        self.start_tour(
            "/odoo/action-sale_amazon_spapi.action_amazon_account/new",
            "sale_amazon_spapi_fba_warehouse",
            login="admin",
        )
        channel = self.env["amazon.account"].search([("name", "=", "Amazon Tour")])
        self.assertEqual(channel.seller_central_domain, "UK")
        self.assertEqual(channel.fba_mode, "afn")
        self.assertEqual(channel.fba_warehouse_id.name, "Amazon FBA (Amazon Tour)")
