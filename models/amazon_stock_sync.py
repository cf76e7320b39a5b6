# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import logging
import math
from collections import defaultdict
from datetime import timedelta

from psycopg2.extras import execute_values

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const
from ..amazon import AmazonError, feeds, inventory, unexpected_summary

_logger = logging.getLogger(__name__)


class AmazonSkuMap(models.Model):
    _inherit = "amazon.sku.map"

    stock_changed_at = fields.Datetime(
        string="Quantity Changed On",
        copy=False,
        readonly=True,
        help="Last time a stock move made this offer's quantity to send.",
    )

    def _stock_mark_changed(self):
        self.write({"stock_changed": True, "stock_changed_at": fields.Datetime.now()})

    def _stock_clear_changed(self, since):
        """Unmark the offers whose last change is older than ``since``.

        A change stamped at or after the start of a send may not be in the
        quantities that send computed: it stays for the next one. Stamps have
        whole seconds, hence the strict comparison.
        """
        self.filtered(
            lambda offer: not offer.stock_changed_at or offer.stock_changed_at < since
        ).stock_changed = False


class AmazonAccount(models.Model):
    """Stock both ways: merchant quantities to Amazon, FBA stock into Odoo.

    Kept apart from the channel's set-up and order import (amazon_account.py)
    as the design asks for each new concern; the rows of amazon.sku.map are
    the offers, and carry what Amazon was told.
    """

    _inherit = "amazon.account"

    stock_sync = fields.Boolean(
        string="Send Quantities",
        help="Send the free quantity of merchant-fulfilled offers to Amazon when "
        "stock moves are done.",
    )
    stock_warehouse_id = fields.Many2one(
        "stock.warehouse",
        string="Shipping Warehouse",
        check_company=True,
        help="Merchant-fulfilled offers show this warehouse's free quantity "
        "(default: the company's first warehouse).",
    )
    stock_safety_buffer = fields.Integer(
        string="Safety Buffer",
        default=0,
        help="Units kept back from Amazon per offer, against overselling.",
    )
    fba_stock_sync = fields.Boolean(
        string="Read FBA Stock",
        help="Set the FBA warehouse's stock to the fulfillable quantities Amazon "
        "holds, on a schedule.",
    )
    stock_sync_message = fields.Text(copy=False, readonly=True)
    last_stock_sync = fields.Datetime(copy=False, readonly=True)
    last_fba_sync = fields.Datetime(string="Last FBA Stock Read", copy=False)
    fba_unknown_skus = fields.Text(
        string="Unknown FBA SKUs",
        copy=False,
        readonly=True,
        help="SKUs Amazon holds stock of that match no product: map them.",
    )
    stock_feed_ids = fields.One2many("amazon.stock.feed", "account_id")

    # Amazon processes a feed in minutes; one still queued after this many
    # hours is given up and its quantities sent again, not waited for forever.
    _stock_feed_max_hours = 6

    # === CONSTRAINTS === #

    @api.constrains("fba_warehouse_id", "stock_warehouse_id")
    def _check_stock_warehouses(self):
        for account in self:
            if (
                account.fba_warehouse_id
                and account.fba_warehouse_id == account.stock_warehouse_id
            ):
                raise ValidationError(
                    self.env._(
                        "Channel %(channel)s: the FBA warehouse cannot be the "
                        "shipping warehouse. The FBA warehouse's stock is set to "
                        "what Amazon holds, which would overwrite your own stock.",
                        channel=account.name,
                    )
                )

    # === ACTIONS === #

    def action_send_all_quantities(self):
        self.ensure_one()
        # A user who may not change the channel must not reach Amazon on its
        # behalf: refused before any call.
        self.check_access("write")
        if not self.stock_sync:
            raise UserError(
                self.env._(
                    "Channel %(channel)s does not send quantities to Amazon: "
                    'turn on "Send Quantities" first.',
                    channel=self.name,
                )
            )
        self._stock_check_access()
        result = self._stock_send(send_all=True)
        return self._stock_notification(result)

    def action_sync_fba_stock(self):
        self.ensure_one()
        self.check_access("write")
        self._stock_check_access()
        result = self._fba_sync()
        return self._stock_notification(result)

    def _stock_check_access(self):
        self._raise_if_blocked()

    def _stock_notification(self, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.name,
                "message": message,
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # === CRONS === #

    @api.model
    def _cron_stock_sync(self):
        """Read the reports of pending feeds, then send what changed."""
        commit = self._can_commit()
        for account in self.search([("enabled", "=", True), ("stock_sync", "=", True)]):
            if account._get_import_blocker():
                continue
            account._stock_run_guarded("_stock_send", commit)

    @api.model
    def _cron_fba_stock_sync(self):
        commit = self._can_commit()
        accounts = self.search(
            [
                ("enabled", "=", True),
                ("fba_stock_sync", "=", True),
                ("fba_warehouse_id", "!=", False),
            ]
        )
        for account in accounts:
            if account._get_import_blocker():
                continue
            account._stock_run_guarded("_fba_sync", commit)

    def _stock_run_guarded(self, method, commit):
        """Run ``method`` of this channel; whatever it raises, the next
        channel still runs. An Amazon error keeps the work done before it
        (feeds already submitted must stay recorded); anything else undoes
        this channel's work."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                try:
                    getattr(self, method)()
                except AmazonError as error:
                    self.stock_sync_message = self._amazon_error_message(error)
        except Exception as error:
            _logger.exception("Amazon stock sync of channel %s failed", self.id)
            self.stock_sync_message = self.env._(
                "The stock sync stopped on an unexpected error: %(error)s",
                error=unexpected_summary(error),
            )
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    # === OUT: MERCHANT QUANTITIES === #

    def _get_stock_warehouse(self):
        self.ensure_one()
        return self.stock_warehouse_id or self.env["stock.warehouse"].search(
            [
                ("company_id", "=", self.company_id.id),
                ("id", "!=", self.fba_warehouse_id.id),
            ],
            limit=1,
        )

    def _stock_free_quantities(self, products):
        """{product id: free quantity} in the shipping warehouse, one query."""
        warehouse = self._get_stock_warehouse()
        groups = self.env["stock.quant"]._read_group(
            [
                ("product_id", "in", products.ids),
                ("location_id.usage", "=", "internal"),
                ("location_id.warehouse_id", "=", warehouse.id),
            ],
            ["product_id"],
            ["quantity:sum", "reserved_quantity:sum"],
        )
        return {
            product.id: min(quantity - reserved, feeds.MAX_QUANTITY)
            for product, quantity, reserved in groups
        }

    def _stock_quantities(self, offers):
        """{offer: quantity to show on Amazon}: free quantity minus the buffer."""
        free = self._stock_free_quantities(offers.product_id)
        return {
            offer: max(
                0,
                math.floor(free.get(offer.product_id.id, 0.0))
                - self.stock_safety_buffer,
            )
            for offer in offers
        }

    def _stock_register_offers(self):
        """Offers for the SKUs this channel sold merchant-fulfilled, unmapped yet.

        A SKU that is an internal reference (or built from one with the SKU
        concatenation labels) needs no SKU map row to be imported; stock sync
        needs one to remember what Amazon was told.
        """
        self.ensure_one()
        groups = self.env["sale.order.line"]._read_group(
            [
                ("order_id.amazon_account_id", "=", self.id),
                ("order_id.amazon_fulfilled_by", "=", "MERCHANT"),
                ("amazon_sku", "!=", False),
            ],
            ["amazon_sku"],
        )
        skus = {sku for (sku,) in groups}
        known = set(
            self.env["amazon.sku.map"]
            .search([("account_id", "=", self.id), ("sku", "in", list(skus))])
            .mapped("sku")
        )
        missing = skus - known
        if not missing:
            return self.env["amazon.sku.map"]
        found = self._amazon_find_products(missing, set())
        return self.env["amazon.sku.map"].create(
            [
                {"account_id": self.id, "sku": sku, "product_id": found[key].id}
                for sku in sorted(missing)
                if (key := ("sku", sku)) in found
            ]
        )

    def _stock_offers_to_send(self, send_all=False):
        domain = [
            ("account_id", "=", self.id),
            ("fulfillment_channel", "=", "merchant"),
            ("sync_stock", "=", True),
        ]
        if not send_all:
            domain.append(("stock_changed", "=", True))
        return self.env["amazon.sku.map"].search(domain)

    def _stock_send(self, send_all=False):
        """Send the changed (or all) merchant quantities; returns a summary.

        Pending feeds are read first: a new feed waits until Amazon has
        processed the previous one, so that quantities arrive in order.
        """
        self.ensure_one()
        if not self.seller_id:
            raise UserError(
                self.env._("Channel %(channel)s has no seller ID.", channel=self.name)
            )
        self._stock_check_feeds()
        if self.stock_feed_ids.filtered(lambda feed: feed.state == "sent"):
            return self.env._("Amazon is still processing the previous feed.")
        self._stock_register_offers()
        started = fields.Datetime.now()
        offers = self._stock_offers_to_send(send_all)
        quantities = self._stock_quantities(offers)
        if not send_all:
            # A move that left the free quantity as Amazon knows it is no news.
            unchanged = offers.filtered(
                lambda offer: (
                    offer.stock_state == "done"
                    and offer.last_quantity_sent == quantities[offer]
                )
            )
            unchanged._stock_clear_changed(started)
            offers -= unchanged
        self.last_stock_sync = fields.Datetime.now()
        if not offers:
            return self.env._("No quantity to send.")
        lines = [[offer.sku, quantities[offer]] for offer in offers]
        if len(lines) <= const.STOCK_PATCH_MAX:
            return self._stock_patch(offers, lines, started)
        client = self._get_amazon_client()
        marketplaces = list(self._get_amazon_config().marketplace_ids)
        with client:
            for start in range(0, len(lines), feeds.MAX_MESSAGES):
                chunk = lines[start : start + feeds.MAX_MESSAGES]
                document, _skus = feeds.build_quantity_feed(self.seller_id, chunk)
                submitted = inventory.submit_feed(client, document, marketplaces)
                self.env["amazon.stock.feed"].create(
                    {
                        "account_id": self.id,
                        "feed_ref": submitted.feed_id,
                        "document_ref": submitted.document_id,
                        "lines": chunk,
                        "sku_count": len(chunk),
                    }
                )
                sent = offers.filtered(lambda o, c=chunk: o.sku in {s for s, _q in c})
                sent.stock_state = "sent"
                sent._stock_clear_changed(started)
        self.stock_sync_message = False
        return self.env._(
            "%(count)s quantities sent to Amazon in a feed.", count=len(lines)
        )

    def _stock_patch(self, offers, lines, started):
        """patchListingsItem for a handful of SKUs: no feed to wait for."""
        marketplaces = list(self._get_amazon_config().marketplace_ids)
        accepted, errors = {}, {}
        with self._get_amazon_client() as client:
            for sku, quantity in lines:
                ok, message = inventory.patch_quantity(
                    client, self.seller_id, sku, quantity, marketplaces
                )
                if ok:
                    accepted[sku] = quantity
                else:
                    errors[sku] = message
        offers._stock_clear_changed(started)
        self._stock_apply_result(offers, accepted, errors)
        return self.env._(
            "%(ok)s quantities sent to Amazon, %(ko)s refused.",
            ok=len(accepted),
            ko=len(errors),
        )

    def _stock_check_feeds(self):
        """Read the processing reports of this channel's finished feeds."""
        self.ensure_one()
        pending = self.stock_feed_ids.filtered(lambda feed: feed.state == "sent")
        if not pending:
            return
        stuck_before = fields.Datetime.now() - timedelta(
            hours=self._stock_feed_max_hours
        )
        with self._get_amazon_client() as client:
            for feed in pending.sorted("id"):
                try:
                    status = inventory.get_feed(client, feed.feed_ref)
                except AmazonError as error:
                    # A feed Amazon does not know would block every send.
                    if error.retryable:
                        raise
                    self._stock_feed_failed(feed, error)
                    continue
                if not status.done:
                    if feed.create_date < stuck_before:
                        self._stock_feed_failed(
                            feed,
                            AmazonError(
                                "feed_failed",
                                params={"feed": feed.feed_ref, "status": status.status},
                            ),
                        )
                    continue
                offers = self._stock_feed_offers(feed)
                try:
                    result = inventory.feed_result(
                        client, status, feed._skus_by_message_id()
                    )
                except AmazonError as error:
                    if error.retryable:
                        raise
                    self._stock_feed_failed(feed, error)
                    continue
                quantities = dict(map(tuple, feed.lines))
                accepted = {sku: quantities[sku] for sku in result.accepted}
                errors = dict(result.errors)
                for text in result.feed_errors:
                    for sku in quantities:
                        errors.setdefault(sku, text)
                self._stock_apply_result(offers, accepted, errors)
                feed.write({"state": "done", "error_count": len(errors)})

    def _stock_feed_offers(self, feed):
        return self.env["amazon.sku.map"].search(
            [
                ("account_id", "=", self.id),
                ("sku", "in", [sku for sku, _qty in feed.lines]),
            ]
        )

    def _stock_feed_failed(self, feed, error):
        feed.write({"state": "error", "message": self._amazon_error_message(error)})
        # Nothing is known to have arrived: send these again.
        offers = self._stock_feed_offers(feed)
        offers.stock_state = False
        offers._stock_mark_changed()
        self._log_import_error(error)

    def _stock_apply_result(self, offers, accepted, errors):
        """Record Amazon's verdict on the offers: one write per distinct value."""
        now = fields.Datetime.now()
        by_sku = {offer.sku: offer for offer in offers}
        by_quantity = defaultdict(lambda: self.env["amazon.sku.map"])
        for sku, quantity in accepted.items():
            if sku in by_sku:
                by_quantity[quantity] |= by_sku[sku]
        for quantity, done in by_quantity.items():
            done.write(
                {
                    "last_quantity_sent": quantity,
                    "last_sent_on": now,
                    "stock_state": "done",
                    "stock_error": False,
                }
            )
        by_message = defaultdict(lambda: self.env["amazon.sku.map"])
        for sku, message in errors.items():
            if sku in by_sku:
                by_message[message] |= by_sku[sku]
        for message, refused in by_message.items():
            refused.write({"stock_state": "error", "stock_error": message})
        if errors:
            self.env["amazon.import.log"].create(
                [
                    {
                        "account_id": self.id,
                        "amazon_sku": sku,
                        "message": self.env._(
                            "Amazon refused the quantity of SKU %(sku)s: %(message)s",
                            sku=sku,
                            message=message,
                        ),
                    }
                    for sku, message in sorted(errors.items())
                ]
            )

    # === IN: FBA STOCK === #

    def _fba_sync(self):
        """Set the FBA warehouse's on-hand quantities to Amazon's fulfillable ones."""
        self.ensure_one()
        if not self.fba_warehouse_id:
            raise UserError(
                self.env._(
                    "Channel %(channel)s has no FBA warehouse.", channel=self.name
                )
            )
        marketplaces = list(self._get_amazon_config().marketplace_ids)
        with self._get_amazon_client() as client:
            stocks = inventory.fba_stock(client, marketplaces)
        offers = self._fba_offers(set(stocks))
        self._fba_store_quantities(offers, stocks)
        unknown = sorted(set(stocks) - set(offers))
        self.write(
            {
                "last_fba_sync": fields.Datetime.now(),
                "fba_unknown_skus": "\n".join(unknown) or False,
            }
        )
        by_product = defaultdict(int)
        for sku, offer in offers.items():
            by_product[offer.product_id] += stocks[sku].fulfillable
        moved = self._fba_adjust(by_product)
        if unknown:
            self.env["amazon.import.log"].create(
                {
                    "account_id": self.id,
                    "message": self.env._(
                        "Amazon holds FBA stock of SKUs that match no product "
                        "(map them on the channel): %(skus)s",
                        skus=", ".join(unknown),
                    ),
                }
            )
        return self.env._(
            "FBA stock read: %(skus)s SKUs, %(moved)s products adjusted, "
            "%(unknown)s unknown SKUs.",
            skus=len(stocks),
            moved=moved,
            unknown=len(unknown),
        )

    def _fba_offers(self, skus):
        """{sku: offer} of the SKUs Amazon reports; new FBA offers are mapped
        the way orders are (internal reference, concatenation labels)."""
        SkuMap = self.env["amazon.sku.map"]
        offers = {
            offer.sku: offer
            for offer in SkuMap.search(
                [("account_id", "=", self.id), ("sku", "in", list(skus))]
            )
        }
        missing = skus - set(offers)
        if missing:
            found = self._amazon_find_products(missing, set())
            created = SkuMap.create(
                [
                    {
                        "account_id": self.id,
                        "sku": sku,
                        "product_id": found[("sku", sku)].id,
                        "fulfillment_channel": "amazon",
                        "stock_changed": False,
                    }
                    for sku in sorted(missing)
                    if ("sku", sku) in found
                ]
            )
            offers.update({offer.sku: offer for offer in created})
        return offers

    def _fba_store_quantities(self, offers, stocks):
        """Amazon's figures on the offers, in one statement for any number."""
        if not offers:
            return
        SkuMap = self.env["amazon.sku.map"]
        SkuMap.flush_model()
        rows = [
            (
                offer.id,
                stocks[sku].fulfillable,
                stocks[sku].reserved,
                stocks[sku].inbound,
            )
            for sku, offer in offers.items()
        ]
        # An offer Amazon holds units of is fulfilled by Amazon. Amazon also
        # lists SKUs it held once, with nothing left: a merchant offer that
        # was FBA in the past stays merchant.
        execute_values(
            self.env.cr._obj,
            """
            UPDATE amazon_sku_map AS m
               SET fba_fulfillable = v.fulfillable,
                   fba_reserved = v.reserved,
                   fba_inbound = v.inbound,
                   fulfillment_channel = CASE
                       WHEN v.fulfillable + v.reserved + v.inbound > 0
                       THEN 'amazon'
                       ELSE m.fulfillment_channel
                   END,
                   fba_synced_on = NOW() AT TIME ZONE 'UTC'
              FROM (VALUES %s) AS v(id, fulfillable, reserved, inbound)
             WHERE m.id = v.id
            """,
            rows,
            page_size=1000,
        )
        SkuMap.invalidate_model(
            [
                "fba_fulfillable",
                "fba_reserved",
                "fba_inbound",
                "fulfillment_channel",
                "fba_synced_on",
            ]
        )
        SkuMap.browse([row[0] for row in rows]).product_id.invalidate_recordset(
            ["amazon_fba_reserved", "amazon_fba_inbound"]
        )

    def _fba_adjust(self, by_product):
        """One inventory adjustment of the FBA warehouse; returns products moved."""
        location = self.fba_warehouse_id.lot_stock_id
        # An Amazon administrator need not be an inventory manager: the
        # adjustment is the channel's, not the clicking user's. sudo() alone
        # keeps the user, and stock.quant only honours inventory_mode for stock
        # users: for anyone else create() would add the quantity, not set it.
        Quant = (
            self.env["stock.quant"]
            .with_user(SUPERUSER_ID)
            .with_company(self.company_id)
            .with_context(inventory_mode=True)
        )
        products = self.env["product.product"].concat(*by_product)
        storable = products.filtered("is_storable")
        on_hand = {
            product.id: quantity
            for product, quantity in Quant._read_group(
                [("product_id", "in", storable.ids), ("location_id", "=", location.id)],
                ["product_id"],
                ["quantity:sum"],
            )
        }
        changed = storable.filtered(
            lambda product: on_hand.get(product.id, 0.0) != by_product[product]
        )
        if not changed:
            return 0
        quants = Quant.create(
            [
                {
                    "product_id": product.id,
                    "location_id": location.id,
                    "inventory_quantity": by_product[product],
                }
                for product in changed
            ]
        )
        reference = self.env._(
            "Amazon FBA stock of %(date)s (%(channel)s)",
            date=fields.Date.to_string(fields.Date.context_today(self)),
            channel=self.name,
        )
        quants.with_context(inventory_name=reference)._apply_inventory()
        return len(changed)
