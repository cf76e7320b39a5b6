# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo.tests import new_test_user, tagged

from .common import AmazonImportCommon


def _item(sku, **extra):
    return dict(sku=sku, qty=1, unit_price="10.00", vat_rate="0.20", **extra)


@tagged("post_install", "-at_install")
class TestMapSkuHostileData(AmazonImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            "amz_hostile_manager",
            groups="sales_team.group_sale_salesman_all_leads,"
            "sale_amazon_spapi.group_amazon_manager",
        )

    def _map_all(self, order, product):
        action = order.with_user(self.manager).action_amazon_open_map_sku()
        Wizard = (
            self.env["amazon.map.sku.wizard"]
            .with_user(self.manager)
            .with_context(**action["context"])
        )
        vals = Wizard.default_get(["order_id", "line_ids"])
        for command in vals["line_ids"]:
            command[2]["product_id"] = product.id
        return Wizard.create(vals).action_map_and_retry()

    def test_sku_with_surrounding_spaces_is_completed_once_mapped(self):
        # SKU maps are stored stripped: the import must find them for the SKU
        # Amazon sent, or "Map SKU" never completes the order.
        ref = self.add_order(items=[_item(" PEN-WS  "), _item("MUG")])
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.state, "draft")
        pen = self.env["product.product"].create({"name": "Pen"})
        self._map_all(order, pen)
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.amazon_unmapped_skus)
        self.assertIn(pen, order.order_line.product_id)

    def _custom_files(self, order):
        return self.env["ir.attachment"].search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "=", order.id),
                ("name", "=like", "amazon-custom-%"),
            ]
        )

    def test_personalisation_file_edited_before_retry_is_read_from_amazon(self):
        ref = self.add_order(
            items=[_item("ENGRAVED-2", customization={"text": "For Ada"})]
        )
        self.import_orders()
        order = self.orders([ref])
        (attachment,) = self._custom_files(order)
        attachment.raw = b"not a zip any more"
        pen = self.env["product.product"].create({"name": "Engraved Pen"})
        self._map_all(order, pen)
        self.assertEqual(order.state, "sale")
        line = order.order_line.filtered("amazon_item_ref")
        self.assertIn("For Ada", line.amazon_customization)
        (attachment,) = self._custom_files(order)
        self.assertNotEqual(attachment.raw, b"not a zip any more")

    def test_personalisation_file_deleted_before_retry_comes_back_once(self):
        ref = self.add_order(
            items=[_item("ENGRAVED-3", customization={"text": "For Ben"})]
        )
        self.import_orders()
        order = self.orders([ref])
        self._custom_files(order).unlink()
        pen = self.env["product.product"].create({"name": "Engraved Pen"})
        self._map_all(order, pen)
        self.assertEqual(order.state, "sale")
        self.assertIn(
            "For Ben", order.order_line.filtered("amazon_item_ref").amazon_customization
        )
        self.assertEqual(len(self._custom_files(order)), 1)

    def test_hostile_skus_do_not_stop_the_page(self):
        long_sku = "L" * 5000
        html = "<img src=x onerror=alert(1)>"
        good = self.add_order(items=[_item("MUG")])
        nul = self.add_order(items=[_item("BAD\x00SKU")], validate=False)
        odd = self.add_order(items=[_item(long_sku), _item(html)])
        self.import_orders()
        self.assertEqual(self.orders([good]).state, "sale")
        order = self.orders([odd])
        self.assertEqual(set(order.amazon_unmapped_skus.splitlines()), {long_sku, html})
        action = order.with_user(self.manager).action_amazon_open_map_sku()
        lines = (
            self.env["amazon.map.sku.wizard"]
            .with_user(self.manager)
            .with_context(**action["context"])
            .default_get(["order_id", "line_ids"])["line_ids"]
        )
        self.assertEqual({c[2]["sku"] for c in lines}, {long_sku, html})
        order = self.orders([nul])
        self.assertEqual(order.state, "draft")
        pen = self.env["product.product"].create({"name": "Pen"})
        self._map_all(order, pen)
        self.assertEqual(order.state, "sale", repr(order.amazon_unmapped_skus))
