# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.
"""One bad order, one bad channel or one outage never stops the import."""

from datetime import datetime, timedelta
from unittest.mock import patch

import psycopg2

from odoo import sql_db
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.sale_amazon_spapi.amazon import AmazonClient

from .common import AmazonImportCommon

SALE_ORDER = "odoo.addons.sale_amazon_spapi.models.sale_order.SaleOrder"
ACCOUNT = "odoo.addons.sale_amazon_spapi.models.amazon_account_import.AmazonAccount"
LOCK = "sale_amazon_spapi.import_orders"


def _cap(qty=1):
    return {"sku": "CAP", "qty": qty, "unit_price": "10.00", "vat_rate": "0.20"}


@tagged("post_install", "-at_install")
class TestImportResilience(AmazonImportCommon):
    def setUp(self):
        super().setUp()
        # Amazon's retries would sleep seconds between the fake's 503s.
        patcher = patch.object(AmazonClient, "_backoff_delay", return_value=0.0)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _logs(self, account=None):
        return self.env["amazon.import.log"].search(
            [("account_id", "=", (account or self.account).id)]
        )

    def _digests(self, account=None):
        return self.env["mail.mail"].search(
            [
                ("subject", "like", "Amazon import errors on"),
                ("subject", "like", (account or self.account).name),
            ]
        )

    def _other_locker(self):
        """A connection of its own, as another Odoo worker would have."""
        return sql_db.db_connect(self.env.cr.dbname).cursor()

    def _lock_is_free(self, account):
        other = self._other_locker()
        try:
            other.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s), %s)", [LOCK, account.id]
            )
            free = other.fetchone()[0]
            if free:
                other.execute(
                    "SELECT pg_advisory_unlock(hashtext(%s), %s)", [LOCK, account.id]
                )
            return free
        finally:
            other.close()

    # --- one bad order ---------------------------------------------------------

    def test_nul_character_in_address_is_cleaned(self):
        poisoned = self.add_order(
            items=[_cap()], address={"addressLine1": "1 High St\u0000"}
        )
        others = [self.add_order(items=[_cap()]) for _i in range(3)]
        self.import_orders()
        self.assertEqual(len(self.orders(others + [poisoned])), 4)
        order = self.orders([poisoned])
        self.assertEqual(order.partner_shipping_id.street, "1 High St")
        self.assertEqual(order.state, "sale")

    def test_order_failing_confirmation_is_logged_others_import(self):
        refs = [self.add_order(items=[_cap()]) for _i in range(4)]
        poisoned = refs[1]
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder._action_confirm

        def confirm(orders):
            if poisoned in orders.mapped("amazon_order_ref"):
                raise psycopg2.errors.RaiseException("procurement rule exploded")
            return original(orders)

        with (
            patch.object(SaleOrder, "_action_confirm", confirm),
            mute_logger("odoo.addons.sale_amazon_spapi.models.sale_order"),
        ):
            stats = self.import_orders()
        imported = self.orders(refs)
        self.assertEqual(len(imported), 3, "N-1 sale orders")
        self.assertNotIn(poisoned, imported.mapped("amazon_order_ref"))
        self.assertTrue(all(o.state == "sale" for o in imported))
        logs = self._logs()
        self.assertEqual(len(logs), 1, "one log entry, for the poisoned order")
        self.assertEqual(logs.amazon_order_ref, poisoned)
        self.assertIn("procurement rule exploded", logs.message)
        self.assertIn(poisoned, logs.payload, "the payload is kept")
        self.assertEqual(stats["errors"], 1)
        self.assertFalse(self.account.import_next_token)
        self.assertTrue(
            self.account.last_import_datetime > datetime.now() - timedelta(1)
        )

    def test_order_failing_update_is_logged_others_update(self):
        refs = [self.add_order(items=[_cap()]) for _i in range(3)]
        self.import_orders()
        for ref in refs:
            self.fake.set_status(ref, "SHIPPED")
        self.fake.advance(180)
        SaleOrder = type(self.env["sale.order"])
        original = SaleOrder.write

        def write(orders, vals):
            if vals.get("amazon_status") == "SHIPPED" and refs[0] in orders.mapped(
                "amazon_order_ref"
            ):
                raise ValueError("cannot write this one")
            return original(orders, vals)

        with (
            patch.object(SaleOrder, "write", write),
            mute_logger("odoo.addons.sale_amazon_spapi.models.sale_order"),
        ):
            self.import_orders()
        statuses = {o.amazon_order_ref: o.amazon_status for o in self.orders(refs)}
        self.assertEqual(statuses[refs[0]], "UNSHIPPED")
        self.assertEqual(statuses[refs[1]], "SHIPPED")
        self.assertEqual(statuses[refs[2]], "SHIPPED")
        self.assertEqual(self._logs().amazon_order_ref, refs[0])

    def test_order_listed_twice_in_a_page_imports_once_latest_version(self):
        ref = self.add_order(items=[_cap()])
        other = self.add_order(items=[_cap()])
        original = type(self.env["sale.order"])._amazon_import_batch

        def twice(model, account, raw_orders, **kwargs):
            first = next(r for r in raw_orders if r["orderId"] == ref)
            older = dict(first, lastUpdatedTime="2000-01-01T00:00:00Z")
            return original(model, account, [older, *raw_orders], **kwargs)

        with patch(f"{SALE_ORDER}._amazon_import_batch", twice):
            stats = self.import_orders()
        self.assertEqual(len(self.orders([ref, other])), 2)
        self.assertEqual(stats["created"], 2)
        self.assertFalse(self._logs(), "no duplicate-key error logged")

    def test_order_id_from_another_marketplace_is_logged_not_changed(self):
        ref = self.add_order(items=[_cap()])
        self.import_orders()
        amazon = self.fake.store.orders[ref].order
        amazon["salesChannel"]["marketplaceId"] = self.de.marketplace_id
        self.fake.set_status(ref, "SHIPPED")
        self.fake.advance(180)
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.amazon_marketplace_id, self.uk)
        self.assertEqual(order.amazon_status, "UNSHIPPED")
        log = self._logs()
        self.assertEqual(log.amazon_order_ref, ref)
        self.assertIn("another one", log.message)

    def test_unreadable_personalisation_keeps_the_order(self):
        ref = self.add_order(
            items=[dict(_cap(), customization={"text": "Happy birthday"})]
        )

        def explode(data, level="minimum"):
            raise RecursionError("maximum recursion depth exceeded")

        with (
            patch(
                "odoo.addons.sale_amazon_spapi.models.sale_order.custom."
                "parse_customization_zip",
                explode,
            ),
            mute_logger("odoo.addons.sale_amazon_spapi.models.sale_order"),
        ):
            self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.state, "sale")
        line = order.order_line.filtered("amazon_item_ref")
        self.assertIn("could not be read", line.amazon_customization)
        self.assertIn("could not be read", self._logs().message)

    # --- one bad channel ---------------------------------------------------------

    def test_channel_that_raises_does_not_stop_the_next(self):
        second = self.add_channel("A3SECOND12345", sequence=99)
        (self.account | second).last_import_run = False
        ref = self.add_order(items=[_cap()], seller_id="A3SECOND12345")
        original = type(self.account)._import_pages
        first = self.account

        def pages(account, *args, **kwargs):
            if account == first:
                raise KeyError("a bug in the first channel")
            return original(account, *args, **kwargs)

        with (
            patch(f"{ACCOUNT}._import_pages", pages),
            mute_logger("odoo.addons.sale_amazon_spapi.models.amazon_account_import"),
        ):
            self.env["amazon.account"]._cron_import_orders()
            self.assertEqual(len(self._orders_of(second)), 1)
            self.assertEqual(self.account.import_incident, "failing")
            self.assertIn("KeyError", self.account.import_incident_message)
            self.assertEqual(len(self._logs()), 1)
            self.assertEqual(len(self._digests()), 1)
            # The next run fails the same way: no second alert.
            self.account.last_import_run = False
            self.env["amazon.account"]._cron_import_orders()
            self.assertEqual(len(self._logs()), 1)
            self.assertEqual(len(self._digests()), 1)
        self.assertEqual(self._orders_of(second).amazon_order_ref, ref)
        self.assertFalse(second.import_incident)

    def _orders_of(self, account):
        return self.env["sale.order"].search([("amazon_account_id", "=", account.id)])

    # --- one alert per incident ---------------------------------------------------

    def test_outage_gives_one_alert_and_recovery_closes_it(self):
        ref = self.add_order(items=[_cap()])
        self.fake.inject_fault("searchOrders", "status", times=1000, status=503)
        for _run in range(3):
            stats = self.import_orders()
            self.assertEqual(stats["failed"], 1)
        self.assertEqual(self.account.import_incident, "failing")
        self.assertEqual(len(self._logs()), 1, "one log entry for the incident")
        self.assertEqual(len(self._digests()), 1, "one e-mail for the incident")
        activities = self.account.activity_ids
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, self.account.user_id)
        self.fake.clear_faults()
        self.import_orders()
        self.assertTrue(self.orders([ref]))
        self.assertFalse(self.account.import_incident)
        self.assertFalse(self.account.activity_ids)
        self.assertEqual(self._logs().state, "done")
        note = self.account.message_ids[0]
        self.assertIn("works again", note.body)
        self.assertEqual(len(self._digests()), 1, "recovery sends no e-mail")

    def test_throttled_for_an_hour_gets_an_activity(self):
        self.add_order(items=[_cap()])
        self.fake.inject_fault("searchOrders", "status", times=1000, status=429)
        stats = self.import_orders()
        self.assertEqual(stats["throttled"], 1)
        self.assertFalse(self.account.import_incident, "throttling is normal at first")
        self.assertFalse(self._logs())
        since = self.account.import_throttled_since
        self.assertTrue(since)
        self.account.import_throttled_since = since - timedelta(minutes=61)
        self.import_orders()
        self.assertEqual(self.account.import_incident, "throttled")
        self.assertEqual(len(self.account.activity_ids), 1)
        self.assertEqual(len(self._digests()), 1)
        self.import_orders()
        self.assertEqual(len(self._digests()), 1, "still the same incident")
        self.fake.clear_faults()
        # Amazon's budget refills with time: give it back at once.
        self.env.cr.execute("DELETE FROM amazon_rate_limit")
        self.import_orders()
        self.assertFalse(self.account.import_incident)
        self.assertFalse(self.account.import_throttled_since)
        self.assertFalse(self.account.activity_ids)

    def test_window_not_completing_gets_an_activity(self):
        for _i in range(9):
            self.add_order(items=[_cap()])
        with patch.object(type(self.account), "_import_page_size", 2):
            self.import_orders(max_batches=1)
            opened_on = self.account.import_window_opened_on
            self.assertTrue(self.account.import_next_token)
            self.assertTrue(opened_on)
            self.assertFalse(self.account.import_incident)
            self.account.import_window_opened_on = opened_on - timedelta(minutes=59)
            self.import_orders(max_batches=1)
            self.assertFalse(self.account.import_incident, "four intervals, 1 hour")
            self.account.import_window_opened_on = opened_on - timedelta(hours=2)
            self.import_orders(max_batches=1)
            self.assertEqual(self.account.import_incident, "stalled")
            self.assertEqual(len(self.account.activity_ids), 1)
            self.import_orders()
        self.assertFalse(self.account.import_next_token)
        self.assertFalse(self.account.import_window_opened_on)
        self.assertFalse(self.account.import_incident)

    # --- the lock ------------------------------------------------------------------

    def test_lock_released_when_transaction_aborted_original_error_kept(self):
        # A channel of its own: the other tests' imports hold transaction locks
        # on theirs until the transaction they share ends.
        channel = self.add_channel("A5LOCKTEST1234")
        with (
            self.assertRaises(psycopg2.errors.DivisionByZero),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
            channel._import_lock(commit=True) as locked,
        ):
            self.assertTrue(locked)
            self.assertFalse(self._lock_is_free(channel))
            # Aborts the transaction, as a failing INSERT would.
            self.env.cr.execute("SELECT 1 / 0")
        self.assertTrue(self._lock_is_free(channel))

    def test_import_now_keeps_lock_until_its_transaction_ends(self):
        # A channel of its own: the transaction lock lasts until this test's
        # transaction ends, which the other tests of the class share.
        channel = self.add_channel("A4IMPORTNOW123")
        self.add_order(items=[_cap()], seller_id="A4IMPORTNOW123")
        channel.action_import_orders()
        self.assertEqual(len(self._orders_of(channel)), 1)
        self.assertFalse(
            self._lock_is_free(channel),
            "a cron worker must not start before this import is committed",
        )
