# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import Command
from odoo.tests import tagged

from odoo.addons.sale_amazon_spapi.amazon import AmazonError

from .common import AmazonImportCommon


@tagged("post_install", "-at_install")
class TestStockSync(AmazonImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.write({"stock_sync": True, "stock_warehouse_id": cls.warehouse.id})
        cls.maps = cls.env["amazon.sku.map"].create(
            [
                {
                    "account_id": cls.account.id,
                    "sku": "AMZ-MUG",
                    "product_id": cls.mug.id,
                },
                {
                    "account_id": cls.account.id,
                    "sku": "AMZ-CAP",
                    "product_id": cls.cap.id,
                },
            ]
        )
        cls.mug_map, cls.cap_map = cls.maps

    def setUp(self):
        super().setUp()
        self.fake.listings.offers.clear()
        self.fake.listings.rejected.clear()
        self.fake.listings.fba.clear()
        self.fake.listings.polls_to_done = 1
        for sku in ("AMZ-MUG", "AMZ-CAP", "BULK-1", "BULK-2", "BULK-3", "BULK-4"):
            self.fake.listings.add_offer(self.seller_id, sku, quantity=0)
        self.fake.listings.add_offer(self.seller_id, "FBA-MUG", fulfilled_by="AMAZON")

    def amazon_quantity(self, sku):
        return self.fake.listings.quantity(self.seller_id, sku)

    def deliver(self, product, qty):
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "location_id": self.warehouse.lot_stock_id.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
                "move_ids": [
                    Command.create(
                        {
                            "name": product.name,
                            "product_id": product.id,
                            "product_uom_qty": qty,
                            "location_id": self.warehouse.lot_stock_id.id,
                            "location_dest_id": self.env.ref(
                                "stock.stock_location_customers"
                            ).id,
                        }
                    )
                ],
            }
        )
        picking.action_confirm()
        picking.action_assign()
        picking.move_ids.quantity = qty
        picking.button_validate()
        self.assertEqual(picking.state, "done")

    def test_delivery_sends_its_products_and_nothing_else(self):
        self.account._stock_send(send_all=True)
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 100)
        self.assertEqual(self.amazon_quantity("AMZ-CAP"), 100)
        self.assertFalse(self.maps.filtered("stock_changed"))
        self.fake.calls.clear()
        self.deliver(self.mug, 3)
        self.assertTrue(self.mug_map.stock_changed)
        self.assertFalse(self.cap_map.stock_changed)
        self.account._stock_send()
        patches = self.fake.calls_to("patchListingsItem")
        self.assertEqual(len(patches), 1, "only the delivered product goes out")
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 97)
        self.assertEqual(self.mug_map.last_quantity_sent, 97)
        self.assertEqual(self.mug_map.stock_state, "done")
        self.assertTrue(self.mug_map.last_sent_on)
        self.fake.calls.clear()
        self.account._stock_send()
        self.assertFalse(self.fake.calls_to("patchListingsItem"))

    def test_safety_buffer_and_never_below_zero(self):
        self.account.stock_safety_buffer = 98
        self.account._stock_send(send_all=True)
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 2)
        self.account.stock_safety_buffer = 500
        self.account._stock_send(send_all=True)
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 0)

    def _bulk_maps(self):
        products = self.env["product.product"].create(
            [{"name": f"Bulk {n}", "is_storable": True} for n in range(1, 5)]
        )
        return self.env["amazon.sku.map"].create(
            [
                {"account_id": self.account.id, "sku": f"BULK-{n}", "product_id": p.id}
                for n, p in enumerate(products, start=1)
            ]
        )

    def test_feed_with_a_rejected_sku_and_fba_offer(self):
        self._bulk_maps()
        fba = self.env["amazon.sku.map"].create(
            {
                "account_id": self.account.id,
                "sku": "FBA-MUG",
                "product_id": self.mug.id,
                "fulfillment_channel": "amazon",
            }
        )
        self.fake.listings.reject(self.seller_id, "AMZ-CAP", message="Suppressed.")
        self.account._stock_send(send_all=True)
        self.assertEqual(len(self.fake.calls_to("createFeed")), 1)
        feed = self.account.stock_feed_ids
        self.assertEqual(feed.state, "sent")
        self.assertEqual(feed.sku_count, 6)
        self.account._stock_check_feeds()
        self.assertEqual(feed.state, "done")
        self.assertEqual(feed.error_count, 1)
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 100)
        self.assertEqual(self.cap_map.stock_state, "error")
        self.assertIn("Suppressed.", self.cap_map.stock_error)
        self.assertIn(self.cap_map, self.cap.amazon_sku_map_ids)
        log = self.env["amazon.import.log"].search(
            [("account_id", "=", self.account.id), ("amazon_sku", "=", "AMZ-CAP")]
        )
        self.assertIn("Suppressed.", log.message)
        # An FBA offer never receives a quantity: not even in "send all".
        sent = self.fake.listings.documents
        self.assertNotIn(b"FBA-MUG", b"".join(d.content or b"" for d in sent.values()))
        self.assertIsNone(self.amazon_quantity("FBA-MUG"))
        self.assertFalse(fba.last_quantity_sent)

    def test_throttled_create_feed_resumes_next_run(self):
        self._bulk_maps()
        self.fake.set_usage_plan("createFeed", 0.0083, 1)
        self.fake.rate_limits_enabled = True
        self.account._stock_send(send_all=True)
        self.account._stock_check_feeds()
        self.deliver(self.mug, 1)
        self.deliver(self.cap, 1)
        self.env["amazon.sku.map"].search(
            [("account_id", "=", self.account.id)]
        ).stock_changed = True
        self.env["amazon.sku.map"].search(
            [("account_id", "=", self.account.id)]
        ).stock_state = False
        with self.assertRaises(AmazonError) as caught:
            self.account._stock_send()
        self.assertEqual(caught.exception.code, "throttled")
        self.assertTrue(self.mug_map.stock_changed, "sent again on the next run")
        self.fake.set_usage_plan("createFeed", 0.0083, 15)

    def test_fba_summaries_over_two_pages_then_an_fba_order(self):
        self.fake.listings.page_size = 2
        uk = self.uk.marketplace_id
        self.fake.listings.set_fba(self.seller_id, uk, "MUG", 5, reserved=2, inbound=7)
        self.fake.listings.set_fba(self.seller_id, uk, "CAP", 3)
        self.fake.listings.set_fba(self.seller_id, uk, "WHO-KNOWS", 4)
        self.account._fba_sync()
        self.assertGreaterEqual(len(self.fake.calls_to("getInventorySummaries")), 2)
        fba = self.account.fba_warehouse_id
        self.assertEqual(self.mug.with_context(warehouse_id=fba.id).qty_available, 5)
        self.assertEqual(self.cap.with_context(warehouse_id=fba.id).qty_available, 3)
        self.assertEqual(self.mug.amazon_fba_reserved, 2)
        self.assertEqual(self.mug.amazon_fba_inbound, 7)
        self.assertEqual(self.account.fba_unknown_skus, "WHO-KNOWS")
        move = self.env["stock.move"].search(
            [("product_id", "=", self.mug.id), ("is_inventory", "=", True)]
        )
        self.assertIn("Amazon FBA stock", move.reference)
        mug_map = self.env["amazon.sku.map"].search(
            [("account_id", "=", self.account.id), ("sku", "=", "MUG")]
        )
        self.assertEqual(mug_map.fulfillment_channel, "amazon")
        ref = self.add_order(
            fulfilled_by="AMAZON",
            status="SHIPPED",
            items=[{"sku": "MUG", "qty": 2, "unit_price": "9.99"}],
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.picking_ids.state, "done")
        self.assertFalse(order.activity_ids, "no shortage warning")
        self.assertEqual(self.mug.with_context(warehouse_id=fba.id).qty_available, 3)
