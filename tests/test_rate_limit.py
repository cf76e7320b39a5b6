# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import threading
import uuid
from datetime import datetime, timedelta, timezone

from odoo import Command
from odoo.tests import tagged
from odoo.tools import sql

from odoo.addons.sale_amazon_spapi import uninstall_hook
from odoo.addons.sale_amazon_spapi.amazon import Pacer, ThrottledError
from odoo.addons.sale_amazon_spapi.models.amazon_rate_limit import (
    PostgresBucketStore,
)

from .common import AmazonImportCommon

SINCE = datetime.now(timezone.utc) - timedelta(days=1)


@tagged("post_install", "-at_install")
class TestRateLimit(AmazonImportCommon):
    """Amazon's request budget is spent once, however many workers call it."""

    def test_second_worker_does_not_spend_another_burst(self):
        cron = self.account._get_amazon_client()
        for _ in range(20):
            cron.search_orders(last_updated_after=SINCE)
        # A user's click in another worker: no pacer of this process survives.
        Pacer.forget()
        click = self.account._get_amazon_client()
        with self.assertRaises(ThrottledError):
            click.search_orders(last_updated_after=SINCE)
        self.assertEqual(len(self.fake.calls_to("searchOrders")), 20)
        # The other operations keep their own budget.
        click.get_marketplace_participations()

    def test_salesman_is_paced(self):
        salesman = self.env["res.users"].create(
            {
                "name": "Seller",
                "login": "amazon_pacing_salesman",
                "groups_id": [Command.set([self.env.ref("base.group_user").id])],
            }
        )
        salesman.groups_id += self.env.ref("sales_team.group_sale_salesman")
        client = self.account.with_user(salesman)._get_amazon_client()
        self.assertEqual(client.pacer.reserve("getOrder", 0), 0)
        tokens = self.account._get_amazon_client().pacer.bucket("getOrder").tokens
        self.assertAlmostEqual(tokens, 29, delta=0.5)

    def test_no_secret_in_the_table(self):
        self.account._get_amazon_client().pacer.reserve("getOrder", 0)
        self.env.cr.execute("SELECT pacing_key FROM amazon_rate_limit")
        keys = [key for (key,) in self.env.cr.fetchall()]
        self.assertEqual(len(keys), 1)
        self.assertRegex(keys[0], "^[0-9a-f]{64}$")
        self.assertNotIn(self.account.sudo().lwa_refresh_token, keys[0])

    def test_uninstall_drops_the_table(self):
        uninstall_hook(self.env)
        self.assertIsNone(sql.table_kind(self.env.cr, "amazon_rate_limit"))


@tagged("post_install", "-at_install")
class TestRateLimitTransactions(AmazonImportCommon):
    """The store's own short transactions, as outside tests.

    They commit: each test uses pacing keys of its own and deletes its rows.
    """

    def setUp(self):
        super().setUp()
        self.key = uuid.uuid4().hex
        self.addCleanup(self._delete_rows)

    def _delete_rows(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM amazon_rate_limit WHERE pacing_key = %s", [self.key]
            )

    def _store(self):
        return PostgresBucketStore(self.registry, "amazon_rate_limit")

    def _row_is_locked(self, operation):
        with self.registry.cursor() as cr:
            cr.execute(
                """
                SELECT 1 FROM amazon_rate_limit
                 WHERE pacing_key = %s AND operation = %s
                   FOR UPDATE SKIP LOCKED
                """,
                [self.key, operation],
            )
            return not cr.fetchall()

    def test_workers_on_two_connections_spend_one_burst(self):
        granted, refused, errors = [], [], []
        pacers = [Pacer(key=self.key, store=self._store()) for _ in range(3)]
        barrier = threading.Barrier(len(pacers))

        def worker(pacer):
            barrier.wait()
            for _ in range(10):
                try:
                    pacer.reserve("getMarketplaceParticipations", 0)
                    granted.append(1)
                except ThrottledError:
                    refused.append(1)
                except Exception as error:  # noqa: BLE001 - failed below
                    errors.append(error)

        threads = [threading.Thread(target=worker, args=(p,)) for p in pacers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertFalse(errors)
        self.assertEqual((len(granted), len(refused)), (15, 15))

    def test_crash_after_reserve_holds_no_lock(self):
        pacer = Pacer(key=self.key, store=self._store())
        with self.assertRaises(RuntimeError):
            pacer.reserve("getOrder", 0)
            raise RuntimeError("the caller fails after its reservation")
        self.assertFalse(self._row_is_locked("getOrder"))
        # The reservation stands: Amazon may have counted the request.
        tokens = Pacer(key=self.key, store=self._store()).bucket("getOrder").tokens
        self.assertAlmostEqual(tokens, 29, delta=0.5)

    def test_refused_reservation_holds_no_lock(self):
        pacer = Pacer(plans={"getOrder": (0.5, 1)}, key=self.key, store=self._store())
        pacer.reserve("getOrder", 0)
        with self.assertRaises(ThrottledError):
            pacer.reserve("getOrder", 0)
        self.assertFalse(self._row_is_locked("getOrder"))
