# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import datetime, timedelta, timezone

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import AmazonImportCommon


def _item(sku, **extra):
    return dict(sku=sku, qty=1, unit_price="10.00", vat_rate="0.20", **extra)


@tagged("post_install", "-at_install")
class TestImportStartBounds(AmazonImportCommon):
    """The first import's chosen start never lets an import skip orders."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env, "amz_start_salesman", groups="sales_team.group_sale_salesman"
        )

    def _refs(self, channel):
        return set(
            self.env["sale.order"]
            .search([("amazon_account_id", "=", channel.id)])
            .mapped("amazon_order_ref")
        )

    def test_context_start_cannot_skip_past_the_cursor(self):
        # Any Amazon user may run an import; a start passed in its context
        # must not move a channel past orders it has not imported yet.
        channel = self.add_channel("A3CTXCURSOR01")
        channel.last_import_run = fields.Datetime.now() - timedelta(days=1)
        ref = self.add_order(
            items=[_item("CAP")],
            seller_id="A3CTXCURSOR01",
            created=datetime.now(timezone.utc) - timedelta(days=5),
        )
        channel.with_user(self.salesman).with_context(
            amazon_import_start=fields.Datetime.now() - timedelta(hours=1)
        ).action_import_orders()
        self.assertIn(ref, self._refs(channel))

    def test_context_start_of_a_channel_with_a_cursor_only_reaches_back(self):
        # Never run, but its cursor is set (e.g. moved from another connector).
        channel = self.add_channel("A3CTXCURSOR02")
        ref = self.add_order(
            items=[_item("CAP")],
            seller_id="A3CTXCURSOR02",
            created=datetime.now(timezone.utc) - timedelta(days=5),
        )
        channel.with_user(self.salesman).with_context(
            amazon_import_start=fields.Datetime.now() - timedelta(hours=1)
        ).action_import_orders()
        self.assertIn(ref, self._refs(channel))

    def test_import_now_wizard_refuses_a_channel_that_imported(self):
        channel = self.add_channel("A3CTXWIZARD01")
        channel.last_import_run = fields.Datetime.now() - timedelta(days=1)
        wizard = (
            self.env["amazon.import.now.wizard"]
            .with_user(self.salesman)
            .create(
                {
                    "account_id": channel.id,
                    "import_start": fields.Datetime.now() - timedelta(hours=1),
                }
            )
        )
        with self.assertRaisesRegex(UserError, "imported already"):
            wizard.action_import()
        self.assertFalse(self.fake.calls_to("searchOrders"))

    def test_context_start_is_never_in_the_future(self):
        channel = self.add_channel("A3CTXFUTURE01", last_import_datetime=False)
        now = fields.Datetime.now()
        start = channel.with_context(
            amazon_import_start=now + timedelta(days=400)
        )._get_import_start()
        self.assertLessEqual(start, fields.Datetime.now())

    def test_wizard_refuses_a_channel_the_user_cannot_read(self):
        other = self.env["res.company"].create({"name": "Amazon Start Other Co"})
        channel = self.env["amazon.account"].create(
            {
                "name": "Amazon Other Co",
                "seller_central_domain": "UK",
                "company_id": other.id,
            }
        )
        with self.assertRaises(AccessError):
            self.env["amazon.import.now.wizard"].with_user(self.salesman).create(
                {"account_id": channel.id}
            )
