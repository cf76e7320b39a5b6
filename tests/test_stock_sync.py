# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.sale_amazon_spapi.amazon import AmazonError, feeds

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

    def test_fba_read_by_a_sales_manager_sets_the_quantity(self):
        # A sales manager administers Amazon channels without inventory rights.
        user = new_test_user(
            self.env,
            login="amazon_sales_manager",
            groups="sales_team.group_sale_manager",
        )
        self.assertFalse(user.has_group("stock.group_stock_user"))
        fba = self.account.fba_warehouse_id
        self.env["stock.quant"]._update_available_quantity(
            self.mug, fba.lot_stock_id, 7
        )
        uk = self.uk.marketplace_id
        self.fake.listings.set_fba(self.seller_id, uk, "MUG", 5)
        account = self.account.with_user(user)
        for _click in range(2):
            account.action_sync_fba_stock()
            self.assertEqual(
                self.mug.with_context(warehouse_id=fba.id).qty_available, 5
            )

    def test_fba_warehouse_is_not_the_shipping_warehouse(self):
        with self.assertRaises(ValidationError):
            self.account.stock_warehouse_id = self.account.fba_warehouse_id

    def test_stock_actions_check_rights_and_settings_before_calling_amazon(self):
        # An Amazon user (a salesperson) reads channels but may not change them.
        user = new_test_user(
            self.env, login="amazon_salesman", groups="sales_team.group_sale_salesman"
        )
        self.fake.calls.clear()
        account = self.account.with_user(user)
        with self.assertRaises(AccessError):
            account.action_send_all_quantities()
        with self.assertRaises(AccessError):
            account.action_sync_fba_stock()
        self.assertFalse(self.fake.calls)
        self.account.stock_sync = False
        with self.assertRaisesRegex(UserError, "Send Quantities"):
            self.account.action_send_all_quantities()
        self.assertFalse(self.fake.calls)

    def test_change_during_a_send_is_not_lost(self):
        self.account._stock_send(send_all=True)
        self.deliver(self.mug, 1)
        self.assertTrue(self.mug_map.stock_changed)
        Account = type(self.account)
        original = Account._stock_quantities

        def quantities_then_a_delivery(account, offers):
            result = original(account, offers)
            # Validated after the quantities were computed, before the marks
            # are cleared: the next send must carry it.
            self.deliver(self.mug, 2)
            return result

        with patch.object(Account, "_stock_quantities", quantities_then_a_delivery):
            self.account._stock_send()
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 99)
        self.assertTrue(self.mug_map.stock_changed, "the second delivery is pending")
        self.account._stock_send()
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 97)

    def test_feed_unknown_to_amazon_does_not_block_sends(self):
        feed = self.env["amazon.stock.feed"].create(
            {
                "account_id": self.account.id,
                "feed_ref": "404404404",
                "document_ref": "amzn1.tortuga.unknown",
                "lines": [["AMZ-MUG", 5]],
                "sku_count": 1,
            }
        )
        self.maps.stock_changed = False
        self.account._stock_send()
        self.assertEqual(feed.state, "error")
        self.assertEqual(self.amazon_quantity("AMZ-MUG"), 100, "sent again")

    def test_feed_stuck_in_queue_is_given_up_and_resent(self):
        self._bulk_maps()
        self.fake.listings.polls_to_done = 10**6
        self.account._stock_send(send_all=True)
        feed = self.account.stock_feed_ids
        self.account._stock_check_feeds()
        self.assertEqual(feed.state, "sent", "a feed may take a while")
        self.env.cr.execute(
            "UPDATE amazon_stock_feed SET create_date = create_date - "
            "interval '7 hours' WHERE id = %s",
            [feed.id],
        )
        feed.invalidate_recordset(["create_date"])
        self.account._stock_send()
        self.assertEqual(feed.state, "error")
        self.assertEqual(len(self.account.stock_feed_ids), 2, "its lines sent again")

    def test_fba_read_keeps_a_merchant_offer_merchant(self):
        uk = self.uk.marketplace_id
        # Amazon lists a SKU it once held, with nothing left.
        self.fake.listings.set_fba(self.seller_id, uk, "AMZ-MUG", 0)
        self.fake.listings.set_fba(self.seller_id, uk, "AMZ-CAP", 0, inbound=4)
        self.account._fba_sync()
        self.assertEqual(self.mug_map.fulfillment_channel, "merchant")
        self.assertEqual(self.cap_map.fulfillment_channel, "amazon")

    def test_fba_cron_caps_quantities_and_guards_each_channel(self):
        uk = self.uk.marketplace_id
        self.account.fba_stock_sync = True
        self.fake.listings.set_fba(self.seller_id, uk, "MUG", 3_000_000_000)
        self.env["amazon.account"]._cron_fba_stock_sync()
        mug_map = self.env["amazon.sku.map"].search(
            [("account_id", "=", self.account.id), ("sku", "=", "MUG")]
        )
        self.assertEqual(mug_map.fba_fulfillable, feeds.MAX_QUANTITY)
        # Whatever goes wrong with one channel, the job goes on and says so.
        Account = type(self.account)
        with (
            patch.object(Account, "_fba_sync", side_effect=ValueError("boom")),
            mute_logger("odoo.addons.sale_amazon_spapi.models.amazon_stock_sync"),
        ):
            self.env["amazon.account"]._cron_fba_stock_sync()
        self.assertIn("boom", self.account.stock_sync_message)
