# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo.tests import tagged

from .common import AmazonImportCommon


def _item(sku, **extra):
    return dict(sku=sku, qty=1, unit_price="10.00", vat_rate="0.20", **extra)


@tagged("post_install", "-at_install")
class TestMapSku(AmazonImportCommon):
    def _custom_files(self, order):
        return self.env["ir.attachment"].search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "=", order.id),
                ("name", "=like", "amazon-custom-%"),
            ]
        )

    def test_retried_personalised_order_keeps_its_files_once(self):
        ref = self.add_order(
            items=[
                _item("ENGRAVED-1", customization={"text": "For Ada"}),
                _item("MUG", customization={"text": "For Ben"}),
            ]
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.amazon_unmapped_skus, "ENGRAVED-1")
        self.assertEqual(len(self._custom_files(order)), 2)
        engraved = self.env["product.product"].create({"name": "Engraved Pen"})
        self.env["amazon.sku.map"].create(
            {
                "account_id": self.account.id,
                "sku": "ENGRAVED-1",
                "product_id": engraved.id,
            }
        )
        order.action_amazon_retry()
        self.assertEqual(order.state, "sale")
        lines = order.order_line.filtered("amazon_item_ref")
        by_sku = {line.amazon_sku: line for line in lines}
        # The completed lines carry the personalisation as on a first import.
        self.assertIn("For Ada", by_sku["ENGRAVED-1"].amazon_customization)
        self.assertIn("For Ben", by_sku["MUG"].amazon_customization)
        moves = order.picking_ids.move_ids
        self.assertIn(
            "For Ada",
            moves.filtered(lambda m: m.product_id == engraved).amazon_customization,
        )
        # The files of the first import stay, once each; Amazon is not asked again.
        self.assertEqual(len(self._custom_files(order)), 2)
        self.assertEqual(len(self.fake.calls_to("customization")), 2)
