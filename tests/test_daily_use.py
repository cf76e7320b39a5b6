# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import ast
import json
from datetime import date, timedelta
from unittest.mock import patch

from lxml import etree

from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import convert_file
from odoo.tools.misc import file_path

from .common import AmazonBrowserCase, AmazonCommon, AmazonImportCommon


def _arch(env, xmlid):
    return etree.fromstring(env.ref(xmlid).arch)


@tagged("post_install", "-at_install")
class TestDailyUseViews(TransactionCase):
    def test_payload_viewer_mode_is_shipped_with_odoo(self):
        # Odoo's code editor loads ace/mode-<mode>.js: a mode Odoo does not
        # ship is a 404 in the browser and an unhighlighted payload.
        arch = _arch(self.env, "sale_amazon_spapi.amazon_import_log_view_form")
        for field in arch.iter("field"):
            if field.get("widget") not in ("code", "ace"):
                continue
            options = ast.literal_eval(field.get("options") or "{}")
            mode = options.get("mode", "qweb")
            self.assertTrue(file_path(f"web/static/lib/ace/mode-{mode}.js"))


@tagged("post_install", "-at_install")
class TestDailyUseChannel(AmazonCommon):
    def test_one_banner_for_what_the_channel_needs_first(self):
        account = self.account
        self.assertEqual(account.status_banner, "untested")
        account.write({"connection_state": "ok"})
        self.assertFalse(account.status_banner)
        account.import_incident = "failing"
        self.assertEqual(account.status_banner, "import")
        account.client_secret_rotated_on = date.today() - timedelta(days=170)
        self.assertEqual(account.status_banner, "expiring")
        account.client_secret_rotation_requested_on = date.today()
        self.assertEqual(account.status_banner, "rotation")
        account.write({"connection_state": "failed"})
        self.assertEqual(account.status_banner, "failed")
        account.write({"lwa_refresh_token": False, "connection_state": "ok"})
        self.assertEqual(account.status_banner, "missing")

    def test_banners_and_buttons_follow_the_status(self):
        arch = _arch(self.env, "sale_amazon_spapi.amazon_account_view_form")
        banners = {
            div.get("name"): div
            for div in arch.iter("div")
            if "alert" in (div.get("class") or "")
        }
        fixes = {
            "not_authorised": "action_open_authorize_wizard",
            "credentials_expired": "action_open_authorize_wizard",
            "connection_failed": "action_test_connection",
            "never_tested": "action_test_connection",
            "rotation_pending": "action_open_rotate_secret_wizard",
            "credentials_expiring": "action_open_rotate_secret_wizard",
            "import_incident": "action_view_import_logs",
        }
        for name, method in fixes.items():
            banner = banners[name]
            self.assertIn("status_banner", banner.get("invisible"))
            self.assertIn(method, [b.get("name") for b in banner.iter("button")])
        header = arch.find("header")
        import_now = [
            button
            for button in header.iter("button")
            if button.get("name") == "action_open_import_now"
        ]
        self.assertTrue(import_now, "Import Orders Now is in the header")
        for button in import_now:
            self.assertIn("'missing'", button.get("invisible"))

    def test_header_buttons_that_call_amazon_wait_for_the_authorisation(self):
        # Read FBA Stock showed on a channel never authorised, as soon as its
        # FBA warehouse was created: a button that can only fail.
        view = self.env.ref("sale_amazon_spapi.amazon_account_view_form")
        arch = etree.fromstring(self.env["amazon.account"].get_view(view.id)["arch"])
        calls_amazon = {
            "action_open_import_now",
            "action_sync_fba_stock",
            "action_send_all_quantities",
            str(self.env.ref("sale_amazon_spapi.action_amazon_import_order_wizard").id),
        }
        found = set()
        for button in arch.find("header").iter("button"):
            if button.get("name") in calls_amazon:
                found.add(button.get("name"))
                self.assertIn("'missing'", button.get("invisible"), button.get("name"))
                self.assertIn("enabled", button.get("invisible"), button.get("name"))
        self.assertEqual(found, calls_amazon)

    def test_marketplaces_are_called_marketplaces(self):
        field = self.env["amazon.account"]._fields["marketplace_ids"]
        self.assertEqual(field.string, "Marketplaces")

    def test_amazon_orders_say_why_a_salesman_sees_none(self):
        # A salesman with "Own Documents Only" sees only the orders of the
        # channels he is Responsible of: the empty list says so.
        action = self.env.ref("sale_amazon_spapi.action_amazon_orders")
        self.assertIn("Own Documents Only", action.help)
        self.assertIn(
            "salesperson",
            self.env["amazon.account"]._fields["user_id"].help,
        )

    def test_amazon_orders_menu_for_salesmen(self):
        menu = self.env.ref("sale_amazon_spapi.menu_amazon_orders")
        self.assertEqual(menu.parent_id, self.env.ref("sale.sale_order_menu"))
        salesman = new_test_user(
            self.env, "amz_orders_salesman", groups="sales_team.group_sale_salesman"
        )
        visible = self.env["ir.ui.menu"].with_user(salesman)._visible_menu_ids()
        self.assertIn(menu.id, visible)
        action = self.env.ref("sale_amazon_spapi.action_amazon_orders")
        self.assertIn("amazon_account_id", action.domain)
        arch = _arch(self.env, "sale_amazon_spapi.sale_order_view_list_amazon")
        columns = [field.get("name") for field in arch.iter("field")]
        for name in (
            "amazon_order_ref",
            "amazon_account_id",
            "amazon_marketplace_id",
            "amazon_status",
            "amazon_fulfilled_by",
            "amazon_purchase_date",
            "amount_total",
            "currency_id",
        ):
            self.assertIn(name, columns)
        # What the salesman's list reads, grouped as the search view offers.
        Order = self.env["sale.order"].with_user(salesman)
        Order.web_search_read(
            [("amazon_account_id", "!=", False)], {name: {} for name in columns}
        )
        for group_by in ("amazon_account_id", "amazon_marketplace_id", "amazon_status"):
            Order.read_group([], ["amount_total:sum"], [group_by])
        search = self.env["sale.order"].get_views([(False, "search")])["views"]
        for name in ("group_amazon_channel", "group_amazon_marketplace"):
            self.assertIn(name, search["search"]["arch"])

    def test_banner_titles_keep_their_space(self):
        # The form compiler drops the whitespace between a title and the
        # message field that follows it ("…test failed.No seller…").
        arch = _arch(self.env, "sale_amazon_spapi.amazon_account_view_form")
        for div in arch.iter("div"):
            if "alert" not in (div.get("class") or ""):
                continue
            for strong in div.iter("strong"):
                self.assertIn("me-1", strong.get("class") or "", div.get("name"))

    def test_import_log_list_fits_an_order_id(self):
        arch = _arch(self.env, "sale_amazon_spapi.amazon_import_log_view_list")
        widths = {f.get("name"): f.get("width") for f in arch.iter("field")}
        self.assertTrue(widths["amazon_order_ref"])
        self.assertTrue(widths["create_date"])
        self.assertFalse(widths["message"])

    def test_module_has_an_icon(self):
        module = self.env["ir.module.module"].search(
            [("name", "=", "sale_amazon_spapi")]
        )
        self.assertEqual(module.icon, "/sale_amazon_spapi/static/description/icon.png")
        self.assertTrue(file_path("sale_amazon_spapi/static/description/icon.png"))

    def test_unmapped_banner_reads_as_one_sentence(self):
        # A text field is a block of its own: the sentence around it would
        # wrap into a lone ". Map them…" line.
        arch = _arch(self.env, "sale_amazon_spapi.sale_order_view_form")
        (field,) = arch.xpath(
            "//div[hasclass('alert')]//field[@name='amazon_unmapped_skus']"
        )
        self.assertIn("d-inline", field.get("class"))


@tagged("post_install", "-at_install")
class TestDailyUseDemoData(TransactionCase):
    """Installing with demo data adds a channel to look at, never one that runs."""

    def test_demo_channel_is_disabled_and_explained(self):
        convert_file(
            self.env,
            "sale_amazon_spapi",
            "demo/amazon_account_demo.xml",
            idref={},
            mode="init",
            noupdate=True,
            kind="demo",
        )
        account = self.env.ref("sale_amazon_spapi.demo_amazon_account")
        self.assertFalse(account.enabled)
        self.assertFalse(account.sudo().lwa_client_secret)
        self.assertEqual(account.credentials_status, "missing")
        self.assertEqual(
            set(account.marketplace_ids.mapped("code")), {"UK", "DE", "FR"}
        )
        note = account.message_ids.filtered(lambda m: "demo channel" in m.body)
        self.assertIn("Authorise", note.body)
        # Neither the import nor the reminders touch it.
        Account = self.env["amazon.account"]
        with patch.object(
            type(Account), "_import_orders_guarded", autospec=True
        ) as imported:
            Account._cron_import_orders()
        self.assertNotIn(account, [call.args[0] for call in imported.call_args_list])
        before = len(account.message_ids)
        Account._cron_credentials_reminders()
        self.assertEqual(len(account.message_ids), before)
        self.assertFalse(account.activity_ids)


@tagged("post_install", "-at_install")
class TestDailyUseAuthorisedNotification(AmazonBrowserCase):
    """The OAuth callback lands on the channel with ?amazon_authorised=…; the web
    client says so once and drops the parameter from the address."""

    def _landing(self, outcome, expected_text, expected_class):
        account = self.env["amazon.account"].create(
            {"name": "Amazon EU", "seller_central_domain": "UK"}
        )
        code = """
            const deadline = Date.now() + 20000;
            const check = () => {
                const note = document.querySelector(".o_notification");
                const form = document.querySelector(".o_form_view");
                if (note && form) {
                    if (!note.textContent.includes(__TEXT__)) {
                        console.error("wrong text: " + note.textContent);
                    } else if (!note.querySelector(".o_notification_bar.__CLASS__")) {
                        console.error("wrong kind: " + note.outerHTML);
                    } else if (location.search.includes("amazon_authorised")) {
                        console.error("parameter left in " + location.href);
                    } else if (!document.querySelector(".o_breadcrumb")
                               .textContent.includes("Amazon Channels")) {
                        console.error("no breadcrumb back to the channels");
                    } else {
                        console.log("test successful");
                    }
                } else if (Date.now() > deadline) {
                    console.error("no notification");
                } else {
                    setTimeout(check, 100);
                }
            };
            check();
        """
        code = code.replace("__TEXT__", json.dumps(expected_text))
        code = code.replace("__CLASS__", expected_class)
        self.browser_js(
            f"/odoo/action-sale_amazon_spapi.action_amazon_account/{account.id}"
            f"?amazon_authorised={outcome}",
            code,
            login="admin",
        )

    def test_success_notification(self):
        self._landing("ok", "it can import orders now", "bg-success")

    def test_warning_when_the_connection_test_failed(self):
        self._landing("check", "did not pass", "bg-warning")

    def test_no_notification_off_the_landing(self):
        # A crafted link elsewhere, or an unknown outcome, tells nothing.
        account = self.env["amazon.account"].create(
            {"name": "Amazon EU", "seller_central_domain": "UK"}
        )
        code = """
            const deadline = Date.now() + 20000;
            const check = () => {
                if (document.querySelector(".o_list_view, .o_form_view")) {
                    if (document.querySelector(".o_notification")) {
                        console.error("notification shown");
                    } else if (location.search.includes("amazon_authorised")) {
                        console.error("parameter left in " + location.href);
                    } else {
                        console.log("test successful");
                    }
                } else if (Date.now() > deadline) {
                    console.error("no view");
                } else {
                    setTimeout(check, 100);
                }
            };
            check();
        """
        landing = "/odoo/action-sale_amazon_spapi.action_amazon_account"
        for url in (
            "/odoo/action-sale.action_quotations_with_onboarding?amazon_authorised=ok",
            f"{landing}/{account.id}?amazon_authorised=forged",
        ):
            with self.subTest(url=url):
                self.browser_js(url, code, login="admin")


@tagged("post_install", "-at_install")
class TestDailyUseOrderTotals(AmazonImportCommon):
    """Amazon Orders sums the orders of several currencies in the company's."""

    # Units of each currency per unit of the company's (Odoo's rate convention).
    RATES = {"GBP": 0.8, "EUR": 0.9, "USD": 1.25}

    def _import_uk_and_de(self):
        company_currency = self.company.currency_id
        for code, rate in self.RATES.items():
            currency = self.env.ref(f"base.{code}")
            if currency != company_currency:
                self.env["res.currency.rate"].create(
                    {"currency_id": currency.id, "rate": rate, "name": "2000-01-01"}
                )
        refs = [
            self.add_order(
                marketplace=marketplace,
                items=[
                    {"sku": "CAP", "qty": 2, "unit_price": "12.00", "vat_rate": "0.20"}
                ],
            )
            for marketplace in ("UK", "DE")
        ]
        self.import_orders()
        orders = self.env["sale.order"].search([("amazon_order_ref", "in", refs)])
        self.assertEqual(set(orders.currency_id.mapped("name")), {"GBP", "EUR"})
        return orders

    def _expected(self, order):
        # 2 x 12.00, VAT included: 24.00 in the marketplace's currency.
        self.assertAlmostEqual(order.amount_total, 24.0)
        if order.currency_id == self.company.currency_id:
            return 24.0
        return {"GBP": 30.0, "EUR": 26.67}[order.currency_id.name]

    def test_list_total_in_company_currency(self):
        orders = self._import_uk_and_de()
        for order in orders:
            self.assertAlmostEqual(
                order.amazon_amount_total_company, self._expected(order)
            )
        total = self.env["sale.order"].read_group(
            [("id", "in", orders.ids)], ["amazon_amount_total_company:sum"], []
        )[0]["amazon_amount_total_company"]
        self.assertAlmostEqual(total, sum(self._expected(o) for o in orders))
        # The list sums only the total that has one currency.
        arch = _arch(self.env, "sale_amazon_spapi.sale_order_view_list_amazon")
        sums = {f.get("name"): f.get("sum") for f in arch.iter("field")}
        self.assertFalse(sums["amount_total"])
        self.assertTrue(sums["amazon_amount_total_company"])
        search = self.env["sale.order"].get_views([(False, "search")])["views"]
        self.assertIn("group_amazon_currency", search["search"]["arch"])

    def test_update_fills_the_column_in_one_statement(self):
        """An update adding the column fills the Amazon orders' totals in SQL
        and leaves the other orders, and every write date, alone."""
        orders = self._import_uk_and_de()
        other = self.env["sale.order"].create(
            {"partner_id": self.company.partner_id.id}
        )
        self.env.flush_all()
        cr = self.env.cr
        cr.execute("SELECT id, write_date FROM sale_order")
        written = dict(cr.fetchall())
        cr.execute("ALTER TABLE sale_order DROP COLUMN amazon_amount_total_company")
        self.env["sale.order"]._amazon_create_total_company_column()
        self.env.invalidate_all()
        for order in orders:
            self.assertAlmostEqual(
                order.amazon_amount_total_company, self._expected(order)
            )
        cr.execute(
            "SELECT amazon_amount_total_company FROM sale_order WHERE id = %s",
            [other.id],
        )
        self.assertIsNone(cr.fetchone()[0])
        cr.execute("SELECT id, write_date FROM sale_order")
        self.assertEqual(dict(cr.fetchall()), written)
