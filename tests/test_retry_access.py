# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import AmazonImportCommon


@tagged("post_install", "-at_install")
class TestRetryAccess(AmazonImportCommon):
    def test_order_retry_needs_an_amazon_user_who_may_write_the_order(self):
        # The retry completes and confirms the quotation in place (as
        # superuser): reading the order is not enough to call it.
        ref = self.add_order(
            items=[
                {"sku": "NEW-PEN", "qty": 1, "unit_price": "10.00", "vat_rate": "0.20"}
            ]
        )
        self.import_orders()
        pen = self.env["product.product"].create({"name": "Pen"})
        self.env["amazon.sku.map"].create(
            {"account_id": self.account.id, "sku": "NEW-PEN", "product_id": pen.id}
        )
        order = self.orders([ref])
        inventory = new_test_user(
            self.env, "amz_retry_stock", groups="stock.group_stock_user"
        )
        self.assertTrue(order.with_user(inventory).has_access("read"))
        with self.assertRaises(AccessError):
            order.with_user(inventory).action_amazon_retry()
        self.assertEqual(order.state, "draft")
        self.assertFalse(self.fake.calls_to("getOrder"))
        salesman = new_test_user(
            self.env,
            "amz_retry_salesman",
            groups="sales_team.group_sale_salesman_all_leads",
        )
        order.with_user(salesman).action_amazon_retry()
        self.assertEqual(order.state, "sale")
