# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import base64
import json
import logging
from collections import Counter, defaultdict
from decimal import Decimal
from urllib.parse import quote

from markupsafe import escape

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import float_compare
from odoo.tools.sql import column_exists, create_column

from ..amazon import AmazonError, custom, mapping
from ..amazon.client import DOWNLOAD_WORKERS
from .amazon_tax import TaxMatcher, guess_percent

_logger = logging.getLogger(__name__)

FULFILMENT_STATUSES = [
    ("PENDING_AVAILABILITY", "Pending Availability"),
    ("PENDING", "Pending"),
    ("UNSHIPPED", "Unshipped"),
    ("PARTIALLY_SHIPPED", "Partially Shipped"),
    ("SHIPPED", "Shipped"),
    ("CANCELLED", "Cancelled"),
    ("UNFULFILLABLE", "Unfulfillable"),
]
SERVICE_LEVELS = [
    ("STANDARD", "Standard"),
    ("FREE_ECONOMY", "Free Economy"),
    ("EXPEDITED", "Expedited"),
    ("PRIORITY", "Priority"),
    ("SECOND_DAY", "Second Day"),
    ("NEXT_DAY", "Next Day"),
    ("SAME_DAY", "Same Day"),
    ("SCHEDULED", "Scheduled"),
]
CHARGE_PRODUCTS = {
    "SHIPPING": "sale_amazon_spapi.product_amazon_shipping",
    "GIFT_WRAP": "sale_amazon_spapi.product_amazon_gift_wrap",
    "DISCOUNT": "sale_amazon_spapi.product_amazon_promotion",
}
OTHER_CHARGE_PRODUCT = "sale_amazon_spapi.product_amazon_adjustment"
# Context for bulk creation: no chatter tracking or followers on imported records.
# amazon_import: a delivery validated within the import is one Amazon reported
# shipped, never to be confirmed back to Amazon (amazon.shipment.confirm).
BULK_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "amazon_import": True,
}


class SaleOrder(models.Model):
    _inherit = "sale.order"

    amazon_account_id = fields.Many2one(
        "amazon.account",
        string="Amazon Channel",
        index="btree_not_null",
        readonly=True,
        copy=False,
    )
    amazon_order_ref = fields.Char(
        string="Amazon Order ID", index="btree_not_null", readonly=True, copy=False
    )
    amazon_marketplace_id = fields.Many2one(
        "amazon.marketplace", string="Marketplace", readonly=True, copy=False
    )
    amazon_fulfilled_by = fields.Selection(
        string="Fulfilled By",
        selection=[("MERCHANT", "Merchant"), ("AMAZON", "Amazon (FBA)")],
        readonly=True,
        copy=False,
    )
    amazon_status = fields.Selection(
        string="Amazon Status", selection=FULFILMENT_STATUSES, readonly=True, copy=False
    )
    amazon_purchase_date = fields.Datetime(
        string="Purchase Date", readonly=True, copy=False
    )
    amazon_latest_ship_date = fields.Datetime(
        string="Latest Ship Date", readonly=True, copy=False
    )
    amazon_last_update = fields.Datetime(
        string="Updated at Amazon", readonly=True, copy=False
    )
    amazon_is_prime = fields.Boolean(string="Prime", readonly=True, copy=False)
    amazon_service_level = fields.Selection(
        string="Service Level", selection=SERVICE_LEVELS, readonly=True, copy=False
    )
    amazon_is_business = fields.Boolean(
        string="Business Order", readonly=True, copy=False
    )
    amazon_gift_message = fields.Text(string="Gift Message", readonly=True, copy=False)
    amazon_unmapped_skus = fields.Text(
        string="Unmapped Amazon SKUs",
        readonly=True,
        copy=False,
        help="Amazon SKUs without a product: map them, then retry the order.",
    )
    amazon_seller_central_url = fields.Char(
        string="Seller Central Link",
        compute="_compute_amazon_seller_central_url",
        help="The order's page in the channel's Seller Central.",
    )
    # Amazon orders come in the currency of each marketplace: a list total
    # adding pounds to euros would mean nothing. This one is in the company's
    # currency, at the order's rate, so that Amazon Orders can sum it.
    amazon_company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    amazon_amount_total_company = fields.Monetary(
        string="Total in Company Currency",
        currency_field="amazon_company_currency_id",
        compute="_compute_amazon_amount_total_company",
        store=True,
        help="The order's total converted at its currency rate (the order date's).",
    )

    _sql_constraints = [
        (
            "amazon_order_ref_unique",
            "UNIQUE(amazon_account_id, amazon_order_ref)",
            "An Amazon order is imported once per channel.",
        ),
    ]

    @property
    def _rec_names_search(self):
        # An Amazon order ID typed in a sale order field finds its order.
        return [*super()._rec_names_search, "amazon_order_ref"]

    # === COMPUTE METHODS === #

    @api.depends(
        "amount_total", "currency_rate", "amazon_account_id", "company_id.currency_id"
    )
    def _compute_amazon_amount_total_company(self):
        for order in self:
            if not order.amazon_account_id:
                order.amazon_amount_total_company = 0.0
                continue
            rate = order.currency_rate or 1.0
            order.amazon_amount_total_company = order.company_id.currency_id.round(
                order.amount_total / rate
            )

    @api.depends("amazon_order_ref", "amazon_account_id.seller_central_domain")
    def _compute_amazon_seller_central_url(self):
        # One Seller Central look-up per channel, not per order; sudo: whoever
        # reads the order may follow its link, channel access or not.
        bases = {
            account: account._get_seller_central_url()
            for account in self.amazon_account_id.sudo()
        }
        for order in self:
            ref = order.amazon_order_ref
            order.amazon_seller_central_url = (
                ref
                and order.amazon_account_id
                and f"{bases[order.amazon_account_id]}/orders-v3/order/"
                f"{quote(ref, safe='')}"
            )

    # === CRUD METHODS === #

    def _auto_init(self):
        self._amazon_create_total_company_column()
        return super()._auto_init()

    def _amazon_create_total_company_column(self):
        # Left to the ORM, the new column would be computed order by order (one
        # query each for the currency) and touch every order's write_date: one
        # UPDATE fills it, and only Amazon orders (none on a first install)
        # have a value.
        if not column_exists(self.env.cr, "sale_order", "amazon_amount_total_company"):
            create_column(
                self.env.cr, "sale_order", "amazon_amount_total_company", "numeric"
            )
            if column_exists(self.env.cr, "sale_order", "amazon_account_id"):
                self.env.cr.execute(
                    """
                    UPDATE sale_order so
                       SET amazon_amount_total_company = ROUND(
                               so.amount_total
                               / COALESCE(NULLIF(so.currency_rate, 0), 1),
                               currency.decimal_places)
                      FROM res_company company
                      JOIN res_currency currency ON currency.id = company.currency_id
                     WHERE company.id = so.company_id
                       AND so.amazon_account_id IS NOT NULL
                    """
                )

    def _prepare_confirmation_values(self):
        values = super()._prepare_confirmation_values()
        if self and all(self.mapped("amazon_purchase_date")):
            # Sales reports by date must count an Amazon sale on the day the
            # buyer bought, not on the day it was imported or confirmed.
            values.pop("date_order", None)
        return values

    def action_confirm(self):
        res = super().action_confirm()
        # Confirmed together with other orders: put the purchase date back.
        for order in self.filtered(
            lambda o: o.amazon_purchase_date and o.date_order != o.amazon_purchase_date
        ):
            order.date_order = order.amazon_purchase_date
        return res

    # === ACTION METHODS === #

    def action_amazon_retry(self):
        """Fetch the orders again from Amazon and complete them (e.g. once mapped)."""
        self._amazon_check_retry_access()
        for account, orders in (
            self.filtered("amazon_account_id").grouped("amazon_account_id").items()
        ):
            account.sudo()._import_order_refs(orders.mapped("amazon_order_ref"))
        waiting = self.filtered(lambda order: order.amazon_unmapped_skus)
        # The same orders, reloaded where the user is, with what the retry did.
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if waiting else "success",
                "message": self.env._(
                    "Still waiting for a SKU mapping: %(orders)s",
                    orders=", ".join(waiting.mapped("name")),
                )
                if waiting
                else self.env._(
                    "Completed from Amazon: %(orders)s",
                    orders=", ".join(self.mapped("name")),
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_amazon_retry_selected(self):
        """Retry the selected Amazon quotations waiting for a SKU mapping (the
        list's "Retry Amazon Import"): one failing order or channel does not
        stop the others, and a notification counts what happened."""
        amazon = self.filtered("amazon_account_id")
        retryable = amazon.filtered(_waits_for_mapping)
        result = retryable._amazon_retry_isolated()
        parts = []
        if result["completed"]:
            parts.append(
                self.env._("Completed: %(count)s.", count=len(result["completed"]))
            )
        if result["waiting"]:
            parts.append(
                self.env._(
                    "Still waiting for a SKU mapping: %(orders)s.",
                    orders=", ".join(result["waiting"].mapped("name")),
                )
            )
        if result["failed"]:
            parts.append(
                self.env._(
                    "Failed: %(orders)s (%(reasons)s).",
                    orders=", ".join(result["failed"].mapped("name")),
                    reasons="; ".join(result["errors"]),
                )
            )
        if amazon - retryable:
            parts.append(
                self.env._(
                    "Not waiting for a SKU mapping, left as they are: %(count)s.",
                    count=len(amazon - retryable),
                )
            )
        if self - amazon:
            parts.append(
                self.env._(
                    "Not Amazon orders, ignored: %(count)s.", count=len(self - amazon)
                )
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Retry Amazon Import"),
                "type": "danger"
                if result["failed"]
                else "warning"
                if result["waiting"] or not retryable
                else "success",
                "message": " ".join(parts) or self.env._("No order selected."),
                "sticky": bool(result["failed"]),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_amazon_open_map_sku(self):
        """The "Map SKU" wizard of a quotation waiting for a SKU mapping."""
        self.ensure_one()
        if not self.env["amazon.sku.map"].has_access("create"):
            raise AccessError(
                self.env._(
                    "Only an Amazon administrator maps Amazon SKUs: ask one to map "
                    "%(skus)s.",
                    skus=", ".join((self.amazon_unmapped_skus or "").splitlines()),
                )
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Map Amazon SKUs"),
            "res_model": "amazon.map.sku.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    # === BUSINESS METHODS - RETRY === #

    def _amazon_check_retry_access(self):
        """A retry completes and confirms the orders as superuser: only an
        Amazon user who may change them starts it."""
        if not self.env.user.has_group("sale_amazon_spapi.group_amazon_user"):
            raise AccessError(
                self.env._("Only Amazon users may retry an Amazon import.")
            )
        self.check_access("write")

    def _amazon_unmapped_items(self):
        """[(SKU, ASIN or False)] of the items this quotation waits for.

        The ASIN comes from the note line the import left for the item; an
        item Amazon sent without a SKU cannot get a SKU mapping (its product
        is found by its ASIN) and is left out.
        """
        self.ensure_one()
        notes = self.order_line.filtered(
            lambda line: line.display_type and (line.amazon_sku or line.amazon_asin)
        )
        asins = {(line.amazon_sku or "").strip(): line.amazon_asin for line in notes}
        no_sku = {line.amazon_asin for line in notes if not line.amazon_sku}
        keys = (self.amazon_unmapped_skus or "").splitlines()
        return [
            (key, asins.get(key) or False)
            for key in dict.fromkeys(key.strip() for key in keys)
            if key and key not in no_sku
        ]

    def _amazon_retry_isolated(self):
        """Fetch these Amazon orders again and complete them in place.

        :return: dict of sale orders ``completed``, ``waiting`` (still for a
            SKU mapping) and ``failed`` (channel refused, or Amazon or the
            import failed on the order), and ``errors``, the channels' reasons
        """
        if not self:
            return {"completed": self, "waiting": self, "failed": self, "errors": []}
        self._amazon_check_retry_access()
        Log = self.env["amazon.import.log"].sudo()
        last_log = Log.search([], order="id desc", limit=1).id or 0
        failures = self._amazon_retry_refs(
            {
                account: orders.mapped("amazon_order_ref")
                for account, orders in self.grouped("amazon_account_id").items()
            }
        )
        failed = self.filtered(lambda order: order.amazon_account_id in failures)
        # An order Amazon or the import failed on is logged: it stays waiting.
        logged = {
            (log.account_id.id, log.amazon_order_ref)
            for log in Log.search(
                [
                    ("id", ">", last_log),
                    ("account_id", "in", self.amazon_account_id.ids),
                    ("amazon_order_ref", "in", self.mapped("amazon_order_ref")),
                ]
            )
        }
        waiting = (self - failed).filtered(_waits_for_mapping)
        logged_failed = waiting.filtered(
            lambda order: (order.amazon_account_id.id, order.amazon_order_ref) in logged
        )
        errors = list(dict.fromkeys(failures.values()))
        if logged_failed:
            errors.append(
                self.env._(
                    "%(orders)s: the channel's import log says why",
                    orders=", ".join(logged_failed.mapped("name")),
                )
            )
        return {
            "completed": self - failed - waiting,
            "waiting": waiting - logged_failed,
            "failed": failed | logged_failed,
            "errors": errors,
        }

    @api.model
    def _amazon_retry_refs(self, refs_by_account):
        """Import these Amazon orders again, channel by channel, each in a
        savepoint: a channel that cannot import (not authorised, an import
        running) does not stop the next.

        :param refs_by_account: {amazon.account: [Amazon order IDs]}
        :return: {amazon.account: the reason it failed}
        """
        failures = {}
        for account, refs in refs_by_account.items():
            try:
                with self.env.cr.savepoint():
                    account.sudo()._import_order_refs(refs)
            except Exception as error:  # noqa: BLE001 - isolated channel by channel
                _logger.info(
                    "Amazon retry of channel %s failed: %s",
                    account.id,
                    type(error).__name__,
                )
                failures[account] = _error_text(error)
        return failures

    # === BUSINESS METHODS - SHIP-BY WINDOW === #

    @api.model
    def _amazon_ship_window_values(self, header):
        """Values of Amazon's promise on an order: the ship-by (the deadline of
        its deliveries) and, as the commitment date, the deliver-by."""
        values = {"amazon_service_level": _service_level(header["service_level"])}
        if header["fulfilled_by"] == "MERCHANT" and header["latest_delivery_date"]:
            values["commitment_date"] = header["latest_delivery_date"]
        return values

    def _amazon_ship_by(self):
        """The ship-by deadline of a merchant-fulfilled Amazon order, else False."""
        self.ensure_one()
        if self.amazon_account_id and self.amazon_fulfilled_by == "MERCHANT":
            return self.amazon_latest_ship_date
        return False

    def _amazon_is_urgent(self):
        """Prime and expedited merchant orders are starred on their deliveries."""
        self.ensure_one()
        return bool(
            self._amazon_ship_by()
            and (
                self.amazon_is_prime
                or self.amazon_service_level in mapping.EXPEDITED_SERVICE_LEVELS
            )
        )

    @api.model
    def _amazon_apply_ship_windows(self, updates):
        """Follow Amazon when it moves the window of orders already imported.

        :param updates: list of (order, header from mapping.order_header)
        """
        by_values = defaultdict(lambda: self.browse())
        for order, header in updates:
            if order.amazon_fulfilled_by != "MERCHANT" or not header.get(
                "latest_ship_date"
            ):
                continue
            values = {
                "amazon_latest_ship_date": header["latest_ship_date"],
                "amazon_is_prime": header["is_prime"],
                **self._amazon_ship_window_values(header),
            }
            if any(order[name] != value for name, value in values.items()):
                by_values[tuple(sorted(values.items()))] |= order
        moved = self.browse().union(*by_values.values())
        previous = {order: order.amazon_latest_ship_date for order in moved}
        for values, orders in by_values.items():
            # sale_stock sets the moves' deadline to the commitment date: the
            # ship-by is set on them right after.
            orders.write(dict(values))
        moved._amazon_schedule_deliveries(previous)

    def _amazon_schedule_deliveries(self, previous):
        """Deadline = ship-by on the deliveries still open, scheduled no later
        than it; the urgent ones starred (never unstarred: staff may star).

        :param previous: {order: its ship-by before Amazon moved it}
        """
        moves = self.order_line.move_ids.filtered(
            lambda m: m.state not in ("done", "cancel")
        )
        # One write per distinct window, not per order.
        for (ship_by, old), window_moves in moves.grouped(
            lambda m: (
                m.sale_line_id.order_id._amazon_ship_by(),
                previous.get(m.sale_line_id.order_id),
            )
        ).items():
            if not ship_by:
                continue
            # Scheduled at the old ship-by (or after the new one): follow it.
            window_moves.filtered(
                lambda m, d=ship_by, old=old: m.date > d or m.date == old
            ).date = ship_by
            window_moves.date_deadline = ship_by
        urgent = self.filtered(lambda o: o._amazon_is_urgent())
        urgent.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel") and p.priority != "1"
        ).priority = "1"

    # === BUSINESS METHODS - IMPORT === #

    @api.model
    def _amazon_import_batch(self, account, raw_orders, request_id=None, client=None):
        """Create, update or cancel the sale orders of one page of Amazon orders.

        Every lookup is done once for the whole batch. An order that cannot be
        imported is logged with its payload and the others go on.

        :return: Counter of what happened (created, updated, cancelled, skipped, ...)
        """
        # Nothing Amazon sends may fail the database later (NUL, lone surrogates).
        raw_orders = [mapping.sanitize(raw) for raw in raw_orders]
        try:
            with self.env.cr.savepoint():
                return self._amazon_run_batch(account, raw_orders, request_id, client)
        except Exception as error:  # noqa: BLE001 - isolated order by order below
            if len(raw_orders) == 1:
                return self._amazon_log_failed_order(
                    account, raw_orders[0], error, request_id
                )
            _logger.info(
                "Amazon page of channel %s failed (%s), importing it order by order",
                account.id,
                type(error).__name__,
            )
        # Whatever step failed (partner, lines, confirmation, delivery, update,
        # cancellation), only its order is lost: the others still import.
        stats = Counter()
        for raw in raw_orders:
            try:
                with self.env.cr.savepoint():
                    stats.update(
                        self._amazon_run_batch(account, [raw], request_id, client)
                    )
            except Exception as error:  # noqa: BLE001
                stats.update(
                    self._amazon_log_failed_order(account, raw, error, request_id)
                )
        return stats

    @api.model
    def _amazon_run_batch(self, account, raw_orders, request_id, client):
        batch = _ImportBatch(self.with_context(**BULK_CONTEXT), account, request_id)
        batch.run(raw_orders, client)
        return batch.stats

    @api.model
    def _amazon_log_failed_order(self, account, raw, error, request_id):
        """Log an order whose import raised, with its payload and the reason.

        :return: the stats of that order (one error)
        """
        ref = raw.get("orderId") if isinstance(raw, dict) else None
        _logger.warning(
            "Amazon order %s of channel %s failed to import: %s",
            ref,
            account.id,
            type(error).__name__,
        )
        batch = _ImportBatch(self.with_context(**BULK_CONTEXT), account, request_id)
        batch._append_log(
            ref,
            self.env._(
                "Amazon order %(order)s could not be imported: %(error)s",
                order=ref or "?",
                error=(
                    account._amazon_error_message(error)
                    if isinstance(error, AmazonError)
                    else _error_text(error)
                ),
            ),
            raw,
        )
        batch._flush_logs()
        return batch.stats


def _waits_for_mapping(order):
    """Whether an imported order is a quotation waiting for a SKU mapping."""
    return order.state == "draft" and bool(order.amazon_unmapped_skus)


def _customization_file(line):
    """Name of the attachment holding an item's personalisation file."""
    return f"amazon-custom-{line['item_id']}.zip"


def _readable_customization(data, level):
    try:
        custom.parse_customization_zip(data, level=level)
    except Exception:  # noqa: BLE001 - whatever makes the file unreadable
        return False
    return True


def _service_level(value):
    """Amazon's service level, or False for one this version does not know."""
    return value if value in dict(SERVICE_LEVELS) else False


def _error_text(error):
    """One readable line for an exception raised while importing an order.

    Odoo's own errors carry a message meant for users; anything else (a
    database error, a bug) is named by its type and first line only.
    """
    if isinstance(error, UserError | ValidationError) and error.args:
        return str(error.args[0])
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"[:500]


class _ImportBatch:
    """One page of Amazon orders → records, with batched queries.

    A plain object rather than model methods: it carries the lookups of one
    batch (partners, products, currencies) from step to step.
    """

    def __init__(self, orders_model, account, request_id):
        self.SaleOrder = orders_model
        self.env = orders_model.env
        self.account = account.with_env(self.env)
        self.company = account.company_id
        self.request_id = request_id
        self.stats = Counter()
        self.logs = []

    # --- entry point ---------------------------------------------------------

    def run(self, raw_orders, client):
        raw_orders = self._latest_versions(raw_orders)
        refs = [raw.get("orderId") for raw in raw_orders if isinstance(raw, dict)]
        existing = self.SaleOrder.search(
            [
                ("amazon_account_id", "=", self.account.id),
                ("amazon_order_ref", "in", refs),
            ]
        )
        by_ref = {order.amazon_order_ref: order for order in existing}
        self.marketplaces = self.account._amazon_marketplaces_by_id()
        # Units Amazon reports shipped, by order and item, for the updates.
        self.shipped_units = {}
        new, updates, cancels = [], [], []
        accepted = self.account._get_amazon_fulfilled_by()
        for raw in raw_orders:
            ref = raw.get("orderId") if isinstance(raw, dict) else None
            try:
                if not ref:
                    raise mapping.MappingError("no_items", order="?")
                header = mapping.order_header(raw)
                if header["fulfilled_by"] not in accepted:
                    self.stats["filtered"] += 1
                    continue
                action = mapping.order_action(raw)
                order = by_ref.get(ref)
                if action == "skip":
                    self.stats["pending"] += 1
                elif action == "cancel":
                    if order:
                        cancels.append((order, header))
                    else:
                        self.stats["skipped_cancelled"] += 1
                elif order and (
                    order.amazon_marketplace_id.marketplace_id
                    not in (False, header["marketplace_id"])
                ):
                    raise mapping.MappingError(
                        "marketplace_changed",
                        order=ref,
                        marketplace=header["marketplace_id"] or "-",
                    )
                elif order and not _waits_for_mapping(order):
                    updates.append((order, header))
                    self.shipped_units[ref] = mapping.shipped_units(raw)
                else:
                    marketplace = self.marketplaces.get(header["marketplace_id"])
                    amounts = mapping.order_lines(raw)
                    mapping.check_currency(
                        ref,
                        amounts["currency"],
                        marketplace.currency_id.name if marketplace else None,
                    )
                    new.append(
                        {
                            "raw": raw,
                            "header": header,
                            "partner": mapping.partner_values(
                                raw,
                                default_country=marketplace.country_id.code
                                if marketplace
                                else None,
                            ),
                            "amounts": amounts,
                            # A quotation waiting for a SKU mapping is completed
                            # in place: its name, chatter and files stay.
                            "existing": order or None,
                        }
                    )
            except (AmazonError, KeyError, TypeError, ValueError) as error:
                self._log(ref, error, raw)
        if new:
            self._create_orders(new, client)
        if updates:
            self._update_orders(updates)
        if cancels:
            self._cancel_orders(cancels)
        self._flush_logs()

    def _latest_versions(self, raw_orders):
        """The page with each order once: its latest version, in page order.

        Amazon may list an order twice when it changes while being paged; two
        versions in one batch would create it twice.
        """
        latest = {}
        for raw in raw_orders:
            ref = raw.get("orderId") if isinstance(raw, dict) else None
            if not ref:
                continue
            seen = latest.get(ref)
            if seen is None or str(raw.get("lastUpdatedTime") or "") >= str(
                seen.get("lastUpdatedTime") or ""
            ):
                latest[ref] = raw
        if len(latest) == sum(
            1 for raw in raw_orders if isinstance(raw, dict) and raw.get("orderId")
        ):
            return raw_orders
        self.stats["duplicates_in_page"] += 1
        kept = []
        for raw in raw_orders:
            ref = raw.get("orderId") if isinstance(raw, dict) else None
            if not ref:
                kept.append(raw)
            elif latest.get(ref) is raw:
                kept.append(raw)
                del latest[ref]
        return kept

    # --- logs ------------------------------------------------------------------

    def _log(self, ref, error, raw):
        if isinstance(error, AmazonError):
            message = self.account._amazon_error_message(error)
        else:
            message = self.env._(
                "Amazon order %(order)s could not be read: %(error)s",
                order=ref or "?",
                error=repr(error),
            )
        self._append_log(ref, message, raw)

    def _append_log(self, ref, message, raw):
        self.stats["errors"] += 1
        self.logs.append(
            {
                "account_id": self.account.id,
                "amazon_order_ref": ref,
                "message": message,
                "payload": json.dumps(
                    mapping.without_signed_links(raw),
                    indent=1,
                    ensure_ascii=False,
                    default=str,
                ),
                "request_id": self.request_id,
            }
        )

    def _flush_logs(self):
        refs = [log["amazon_order_ref"] for log in self.logs if log["amazon_order_ref"]]
        if refs:
            # The newest failure replaces the previous entries of the same order.
            self.env["amazon.import.log"].search(
                [
                    ("account_id", "=", self.account.id),
                    ("amazon_order_ref", "in", refs),
                    ("state", "=", "error"),
                ]
            ).write({"state": "done"})
        if self.logs:
            self.env["amazon.import.log"].create(self.logs)
            self.logs = []

    # --- creation ----------------------------------------------------------------

    def _create_orders(self, new, client):
        self._resolve_currencies(new)
        self._resolve_countries(new)
        new = [entry for entry in new if not entry.get("error")]
        self._resolve_products(new)
        self._resolve_partners(new)
        # Each line would otherwise search the analytic distribution models.
        self.line_defaults = {}
        if not self.env["account.analytic.distribution.model"].search_count(
            [("company_id", "in", [self.company.id, False])], limit=1
        ):
            self.line_defaults["analytic_distribution"] = False
        vals_list = [self._order_values(entry) for entry in new]
        fresh = [
            (entry, vals)
            for entry, vals in zip(new, vals_list, strict=True)
            if not entry["existing"]
        ]
        waiting = [
            (entry, vals)
            for entry, vals in zip(new, vals_list, strict=True)
            if entry["existing"]
        ]
        orders = self.SaleOrder
        if fresh:
            orders = self._create_isolated(*map(list, zip(*fresh, strict=True)))
            self._log_import_notes([entry for entry, _vals in fresh])
        if waiting:
            orders |= self._rebuild_isolated(waiting)
        if not orders:
            return
        self._reconcile_totals(orders, new)
        self._add_customizations(new, client)
        self._confirm(new)

    def _log_import_notes(self, new):
        """Each new order's chatter starts with where it comes from, in one batch."""
        bodies = {}
        for entry in new:
            order = entry.get("order")
            if order:
                bodies[order.id] = escape(
                    self.env._(
                        "Imported from Amazon (%(marketplace)s, order %(order)s)",
                        marketplace=order.amazon_marketplace_id.name or "Amazon",
                        order=order.amazon_order_ref,
                    )
                )
        if bodies:
            self.SaleOrder.browse(list(bodies))._message_log_batch(bodies=bodies)

    def _resolve_currencies(self, new):
        codes = {entry["amounts"]["currency"] for entry in new}
        currencies = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "in", list(codes))])
        )
        by_code = {currency.name: currency for currency in currencies}
        # Activating a currency changes the accounting (multi-currency, rates):
        # that is the accountant's decision, so the order waits for it.
        currencies = currencies.filtered("active")
        Pricelist = self.env["product.pricelist"]
        pricelists = Pricelist.search(
            [
                ("currency_id", "in", currencies.ids),
                ("company_id", "in", [self.company.id, False]),
            ],
            order="company_id desc, sequence, id",
        )
        by_currency = {}
        for pricelist in pricelists:
            by_currency.setdefault(pricelist.currency_id, pricelist)
        missing = currencies.filtered(lambda c: c not in by_currency)
        if missing:
            created = Pricelist.create(
                [
                    {
                        "name": f"Amazon {currency.name}",
                        "currency_id": currency.id,
                        "company_id": self.company.id,
                    }
                    for currency in missing
                ]
            )
            for pricelist in created:
                by_currency[pricelist.currency_id] = pricelist
        for entry in new:
            code = entry["amounts"]["currency"]
            currency = by_code.get(code)
            if not currency:
                entry["error"] = True
                self._log_message(
                    entry,
                    self.env._(
                        "Amazon order %(order)s is in currency %(currency)s, which is "
                        "unknown to Odoo.",
                        order=entry["header"]["order_id"],
                        currency=code or "-",
                    ),
                )
                continue
            if not currency.active:
                entry["error"] = True
                self._log_message(
                    entry,
                    self.env._(
                        "Amazon order %(order)s is in currency %(currency)s, which "
                        "is not active in Odoo. Activate it in the Accounting "
                        "settings (Currencies), then retry the order.",
                        order=entry["header"]["order_id"],
                        currency=currency.name,
                    ),
                )
                continue
            entry["currency"] = currency
            entry["pricelist"] = by_currency[currency]

    def _log_message(self, entry, message):
        self._append_log(entry["header"]["order_id"], message, entry["raw"])

    def _resolve_countries(self, new):
        new = [entry for entry in new if not entry.get("error")]
        codes = {entry["partner"]["delivery"]["country_code"] for entry in new}
        countries = self.env["res.country"].search([("code", "in", list(codes))])
        by_code = {country.code: country for country in countries}
        states = self.env["res.country.state"].search(
            [("country_id", "in", countries.ids)]
        )
        state_index = {}
        for state in states:
            # ISO 3166-2 codes with and without the country (US-CA, CA), names.
            for key in (
                state.code,
                f"{state.country_id.code}-{state.code}",
                state.name,
            ):
                state_index.setdefault(
                    (state.country_id.id, mapping.region_key(key)), state
                )
        for entry in new:
            delivery = entry["partner"]["delivery"]
            country = by_code.get(delivery["country_code"])
            if not country:
                entry["error"] = True
                self._log_message(
                    entry,
                    self.env._(
                        "Amazon order %(order)s ships to an unknown country code "
                        "%(country)s.",
                        order=entry["header"]["order_id"],
                        country=delivery["country_code"],
                    ),
                )
                continue
            delivery["country_id"] = country.id
            # An unknown region, or a country without states in Odoo, leaves
            # the state empty: the address lines still say it.
            state = state_index.get((country.id, mapping.region_key(delivery["state"])))
            delivery["state_id"] = state.id if state else False

    def _resolve_products(self, new):
        skus = {
            line["sku"]
            for entry in new
            for line in entry["amounts"]["lines"]
            if line["sku"]
        }
        asins = {
            line["asin"]
            for entry in new
            for line in entry["amounts"]["lines"]
            if line["asin"]
        }
        resolved = self.account._amazon_find_products(skus, asins)
        for entry in new:
            for line in entry["amounts"]["lines"]:
                by_sku = resolved.get(("sku", line["sku"]))
                by_asin = resolved.get(("asin", line["asin"]))
                # An explicit SKU mapping always wins; otherwise the channel's
                # choice of key, then the other key before "unmapped".
                if ("map", line["sku"]) in resolved or self.account.use_amazon_sku:
                    line["product"] = by_sku or by_asin
                else:
                    line["product"] = by_asin or by_sku

    def _resolve_partners(self, new):
        """Customer, commercial partner and delivery address of each new order.

        Consumers are found by e-mail; an Amazon Business buyer is a contact of
        a company partner found by tax number or name; the orders Amazon
        fulfils without naming the buyer go to one "Amazon customer, <city>"
        per place. A few queries per page, whatever its size.
        """
        for entry in new:
            if entry["partner"]["anonymous"]:
                delivery = entry["partner"]["delivery"]
                entry["partner"]["buyer"]["name"] = self.env._(
                    "Amazon customer, %(place)s",
                    place=delivery["city"]
                    or delivery["zip"]
                    or delivery["country_code"],
                )
        companies = self._resolve_companies(new)
        Partner = self.env["res.partner"]
        emails = {
            entry["partner"]["buyer"]["email"]
            for entry in new
            if entry["partner"]["buyer"]["email"]
        }
        anonymous_names = {
            entry["partner"]["buyer"]["name"]
            for entry in new
            if entry["partner"]["anonymous"]
        }
        found = Partner.search(
            [
                "|",
                ("email", "in", list(emails)),
                "&",
                ("name", "in", list(anonymous_names)),
                ("email", "=", False),
                ("company_id", "in", [self.company.id, False]),
            ],
            order="id",
        )
        index = {}
        for partner in found:
            if partner.email:
                index.setdefault(
                    ("email", partner.email, partner.parent_id.id), partner
                )
            elif not partner.parent_id:
                index.setdefault(self._anonymous_key(partner), partner)
        to_create = {}
        for entry in new:
            key = self._customer_key(entry, companies)
            entry["customer_key"] = key
            if key in index:
                continue
            buyer = entry["partner"]["buyer"]
            delivery = entry["partner"]["delivery"]
            company = companies.get(entry["header"]["order_id"])
            vals = {
                "name": buyer["name"],
                "email": buyer["email"],
                "phone": buyer["phone"],
                "company_id": self.company.id,
                "customer_rank": 1,
            }
            if company:
                vals.update(parent_id=company.id, type="contact")
            else:
                vals.update(self._address_values(delivery))
            to_create.setdefault(key, vals)
        if to_create:
            keys = list(to_create)
            created = Partner.create([to_create[key] for key in keys])
            index.update(zip(keys, created, strict=True))
        for entry in new:
            entry["customer"] = index[entry["customer_key"]]
            entry["commercial"] = (
                companies.get(entry["header"]["order_id"]) or entry["customer"]
            )
        # Delivery addresses: reuse an identical child address of the customer.
        parents = Partner.union(*(entry["commercial"] for entry in new))
        children = Partner.search(
            [("parent_id", "in", parents.ids), ("type", "=", "delivery")]
        )
        address_index = {self._address_key(child): child for child in children}
        to_create = {}
        for entry in new:
            if entry["partner"]["anonymous"]:
                # Nothing more than the customer's own place is known.
                entry["address_key"] = None
                continue
            vals = self._delivery_values(entry)
            key = self._address_key(vals)
            entry["address_key"] = key
            if key not in address_index:
                to_create.setdefault(key, vals)
        if to_create:
            # Each new child copies its parent's commercial fields, one parent
            # at a time; compute the parents' pricelists for all of them at once.
            parents.mapped("property_product_pricelist")
            keys = list(to_create)
            created = Partner.create([to_create[key] for key in keys])
            address_index.update(zip(keys, created, strict=True))
        for entry in new:
            key = entry["address_key"]
            entry["delivery"] = address_index[key] if key else entry["customer"]

    def _resolve_companies(self, new):
        """{order ID: company partner} of the Amazon Business orders.

        Found by the buyer's tax number, else by name and country; created
        when new. A tax number Amazon gives fills an empty one.
        """
        business = [entry for entry in new if entry["partner"]["buyer"]["company"]]
        if not business:
            return {}
        Partner = self.env["res.partner"]
        vats = {e["partner"]["buyer"]["vat"] for e in business} - {None}
        names = {e["partner"]["buyer"]["company"] for e in business}
        found = Partner.search(
            [
                ("is_company", "=", True),
                ("company_id", "in", [self.company.id, False]),
                "|",
                ("vat", "in", list(vats)),
                ("name", "in", list(names)),
            ],
            order="id",
        )
        by_vat, by_name = {}, {}
        for company in found:
            if company.vat:
                by_vat.setdefault(company.vat, company)
            by_name.setdefault(
                (company.name.casefold(), company.country_id.id), company
            )
        to_create, vat_to_set = {}, {}
        result = {}
        for entry in business:
            buyer = entry["partner"]["buyer"]
            delivery = entry["partner"]["delivery"]
            name_key = (buyer["company"].casefold(), delivery["country_id"])
            company = (buyer["vat"] and by_vat.get(buyer["vat"])) or by_name.get(
                name_key
            )
            if company:
                if buyer["vat"] and not company.vat:
                    vat_to_set[company] = buyer["vat"]
                result[entry["header"]["order_id"]] = company
                continue
            key = buyer["vat"] or name_key
            to_create.setdefault(
                key,
                {
                    "name": buyer["company"],
                    "is_company": True,
                    "vat": buyer["vat"] or False,
                    "company_id": self.company.id,
                    "customer_rank": 1,
                    **self._address_values(delivery),
                },
            )
            entry["company_key"] = key
        if to_create:
            keys = list(to_create)
            created = Partner.create([to_create[key] for key in keys])
            new_companies = dict(zip(keys, created, strict=True))
            for entry in business:
                if "company_key" in entry:
                    result[entry["header"]["order_id"]] = new_companies[
                        entry.pop("company_key")
                    ]
        for company, vat in vat_to_set.items():
            company.vat = vat
        return result

    @staticmethod
    def _customer_key(entry, companies):
        buyer = entry["partner"]["buyer"]
        if entry["partner"]["anonymous"]:
            delivery = entry["partner"]["delivery"]
            return (
                "anonymous",
                buyer["name"],
                delivery["zip"] or False,
                delivery["country_id"],
            )
        company = companies.get(entry["header"]["order_id"])
        if buyer["email"]:
            return ("email", buyer["email"], company.id if company else False)
        # Without an e-mail nothing tells two buyers apart: one partner each.
        return ("order", entry["header"]["order_id"])

    @staticmethod
    def _anonymous_key(partner):
        return ("anonymous", partner.name, partner.zip or False, partner.country_id.id)

    @staticmethod
    def _address_values(delivery):
        return {
            "street": delivery["street"] or False,
            "street2": delivery["street2"] or False,
            "city": delivery["city"] or False,
            "zip": delivery["zip"] or False,
            "country_id": delivery["country_id"],
            "state_id": delivery["state_id"] or False,
        }

    @staticmethod
    def _delivery_values(entry):
        delivery = entry["partner"]["delivery"]
        parent = entry["commercial"]
        name = delivery["name"] or False
        if name and name.casefold() in {
            (parent.name or "").casefold(),
            (entry["customer"].name or "").casefold(),
        }:
            # The address would read "Jane Doe, Jane Doe".
            name = False
        return {
            "parent_id": parent.id,
            "type": "delivery",
            "name": name,
            **_ImportBatch._address_values(delivery),
            "phone": delivery["phone"] or False,
        }

    @staticmethod
    def _address_key(address):
        def get(name):
            value = address[name]
            if isinstance(value, models.BaseModel):
                value = value.id
            return value or False

        return tuple(
            get(name)
            for name in (
                "parent_id",
                "name",
                "street",
                "street2",
                "city",
                "zip",
                "country_id",
                "state_id",
            )
        )

    def _order_values(self, entry):
        header = entry["header"]
        amounts = entry["amounts"]
        currency = entry["currency"]
        taxes = self._tax_context(entry)
        lines = []
        unmapped = []
        for line in amounts["lines"]:
            product = line["product"]
            if not product:
                unmapped.append(line["sku"] or line["asin"])
                lines.append(
                    Command.create(
                        {
                            "display_type": "line_note",
                            "name": self.env._(
                                "Unmapped Amazon SKU %(sku)s (ASIN %(asin)s): "
                                "%(quantity)s × %(title)s. Map the SKU on the channel, "
                                "then retry the order.",
                                sku=line["sku"] or "-",
                                asin=line["asin"] or "-",
                                quantity=line["quantity"],
                                title=line["title"],
                            ),
                            # What the "Map SKU" wizard offers to map.
                            "amazon_sku": line["sku"],
                            "amazon_asin": line["asin"],
                        }
                    )
                )
                continue
            line_taxes, amount, line["tax_percent"] = self._line_taxes(
                taxes, product, line["quantity"], line["net"], line["tax"], line
            )
            lines.extend(
                self._priced_lines(
                    product,
                    line["quantity"],
                    amount,
                    line_taxes,
                    currency,
                    {
                        "name": self._line_name(product, line),
                        "amazon_item_ref": line["item_id"],
                        "amazon_sku": line["sku"],
                        "amazon_asin": line["asin"],
                    },
                )
            )
        if not unmapped:
            lines.extend(self._charge_lines(taxes, amounts, currency))
        marketplace = self.marketplaces.get(header["marketplace_id"])
        values = {
            "partner_id": entry["customer"].id,
            # A business buyer's invoices go to the company.
            "partner_invoice_id": entry["commercial"].id,
            "partner_shipping_id": entry["delivery"].id,
            "company_id": self.company.id,
            "team_id": self.account.team_id.id,
            "user_id": self.account.user_id.id,
            "pricelist_id": entry["pricelist"].id,
            # The buyer's own reference, as on any customer's order; the Amazon
            # order ID has its field (searchable from the orders' search bar).
            "client_order_ref": header["buyer_po"] or header["order_id"],
            "origin": marketplace.name if marketplace else "Amazon",
            "date_order": header["purchase_date"],
            "amazon_account_id": self.account.id,
            "amazon_order_ref": header["order_id"],
            "amazon_marketplace_id": marketplace.id if marketplace else False,
            "amazon_fulfilled_by": header["fulfilled_by"],
            "amazon_status": header["status"],
            "amazon_purchase_date": header["purchase_date"],
            "amazon_latest_ship_date": header["latest_ship_date"],
            "amazon_last_update": header["last_updated"],
            "amazon_is_prime": header["is_prime"],
            **self.SaleOrder._amazon_ship_window_values(header),
            "amazon_is_business": header["is_business"],
            "amazon_gift_message": "\n".join(mapping.gift_messages(amounts["lines"]))
            or False,
            "amazon_unmapped_skus": "\n".join(unmapped) or False,
            "order_line": lines,
        }
        if header["fulfilled_by"] == "AMAZON":
            values["warehouse_id"] = self.account.fba_warehouse_id.id
        values["fiscal_position_id"] = taxes["fiscal_position"].id
        entry["unmapped"] = unmapped
        return values

    @staticmethod
    def _line_name(product, line):
        name = line["title"] or product.display_name
        if line["sku"]:
            name = f"[{line['sku']}] {name}"
        return name

    # --- taxes -------------------------------------------------------------------

    def _tax_context(self, entry):
        """What decides the taxes of one order's lines: the fiscal position of
        its destination (or its marketplace's), how the marketplace shows
        prices and what it does with the tax Amazon collects itself."""
        if not hasattr(self, "tax_matcher"):
            self.tax_matcher = TaxMatcher(
                self.env, self.company, list(self.marketplaces.values())
            )
            self.fiscal_positions = {}
        marketplace = self.marketplaces.get(entry["header"]["marketplace_id"])
        marketplace = (marketplace or self.env["amazon.marketplace"]).with_company(
            self.company
        )
        fiscal_position = marketplace.fiscal_position_id
        if not fiscal_position:
            key = (entry["customer"].id, entry["delivery"].id)
            if key not in self.fiscal_positions:
                self.fiscal_positions[key] = (
                    self.env["account.fiscal.position"]
                    .with_company(self.company)
                    ._get_fiscal_position(entry["customer"], entry["delivery"])
                )
            fiscal_position = self.fiscal_positions[key]
        entry["taxes"] = context = {
            "marketplace": marketplace,
            "fiscal_position": fiscal_position,
            # Without a marketplace record, prices are taken as Amazon's EU ones.
            "price_include": marketplace.tax_included if marketplace else True,
            "quantum": Decimal(str(entry["currency"].rounding)),
            "facilitator": marketplace.facilitator_tax or "exclude",
            "facilitator_account": marketplace.facilitator_account_id.id,
            "unmatched": [],
            "excluded": Decimal(0),
            "parts": 0,
        }
        return context

    def _line_taxes(self, context, product, quantity, net, tax, line, preferred=None):
        """(Odoo taxes, amount of the order line, percent) for Amazon's net and
        tax of one line or charge.

        The amount is the gross one with a price-included tax, else the net
        one. Tax Amazon collects itself is left out, or booked on a tax of the
        facilitator account. Without a fitting Odoo tax the line carries the
        gross amount untaxed and the rate is noted for an activity.
        """
        context["parts"] += 1
        no_tax = self.env["account.tax"]
        facilitator = line["facilitator"] and tax
        if facilitator and context["facilitator"] == "exclude":
            context["excluded"] += tax
            return no_tax, net, None
        account = context["facilitator_account"] if facilitator else False
        result = None
        if not facilitator or account:
            result = self.tax_matcher.match(
                product,
                context["fiscal_position"],
                (net, tax, quantity, context["quantum"], preferred),
                context["price_include"],
                account,
            )
        if result is None:
            context["unmatched"].append((net, tax, bool(facilitator)))
            return no_tax, net + tax, None
        taxes, percent = result
        if taxes and not all(taxes.mapped("price_include")):
            return taxes, net, percent
        return taxes, net + tax, percent

    def _charge_lines(self, context, amounts, currency):
        """One line per charge type and tax: each item's share of a charge
        gets the item's tax rate when it fits."""
        grouped = {}
        for line in amounts["lines"]:
            for kind, (net, tax) in line.get("charges", {}).items():
                if not net and not tax:
                    continue
                product = self.env.ref(CHARGE_PRODUCTS.get(kind, OTHER_CHARGE_PRODUCT))
                taxes, amount, _percent = self._line_taxes(
                    context, product, 1, net, tax, line, line.get("tax_percent")
                )
                key = (kind, product, taxes)
                grouped[key] = grouped.get(key, Decimal(0)) + amount
        lines = []
        for (kind, product, taxes), amount in grouped.items():
            lines.extend(
                self._priced_lines(
                    product,
                    1,
                    amount,
                    taxes,
                    currency,
                    {"name": product.name if kind in CHARGE_PRODUCTS else kind},
                )
            )
        return lines

    def _priced_lines(self, product, quantity, amount, taxes, currency, extra):
        """Order lines worth exactly ``amount``, whatever the unit rounding."""
        digits = self.env["decimal.precision"].precision_get("Product Price")
        digits = (
            min(digits, currency.decimal_places) if digits else currency.decimal_places
        )
        return [
            Command.create(
                dict(
                    self.line_defaults,
                    **extra,
                    product_id=product.id,
                    product_uom_qty=qty,
                    price_unit=float(unit),
                    tax_id=[Command.set(taxes.ids)],
                )
            )
            for qty, unit in mapping.split_amount(Decimal(amount), quantity, digits)
        ]

    def _create_isolated(self, new, vals_list):
        """Create all orders at once; on failure, one by one so one bad order is
        logged and the others still import."""

        def failed(item, error):
            entry = item[0]
            entry["error"] = True
            self._log_message(
                entry,
                self.env._(
                    "Amazon order %(order)s could not be created: %(error)s",
                    order=entry["header"]["order_id"],
                    error=str(error),
                ),
            )

        orders = self.SaleOrder.union(
            *self._isolated(
                list(zip(new, vals_list, strict=True)),
                lambda items: self.SaleOrder.create([vals for _e, vals in items]),
                failed,
            )
        )
        by_ref = {order.amazon_order_ref: order for order in orders}
        for entry in new:
            entry["order"] = by_ref.get(entry["header"]["order_id"])
        self.stats["created"] += len(orders)
        if orders:
            # An order that failed before and imports now needs no retry any more.
            self.env["amazon.import.log"].search(
                [
                    ("account_id", "=", self.account.id),
                    ("amazon_order_ref", "in", list(by_ref)),
                    ("state", "=", "error"),
                ]
            ).write({"state": "done"})
        return orders

    def _rebuild_isolated(self, items):
        """Rebuild the quotations waiting for a SKU mapping in place: their
        lines are replaced by those the import computes now, their header
        takes Amazon's current values; name, chatter, activities and
        attachments stay. One failing order is logged, the others go on."""

        def failed(item, error):
            entry = item[0]
            entry["error"] = True
            self._log_message(
                entry,
                self.env._(
                    "Amazon order %(order)s could not be completed: %(error)s",
                    order=entry["header"]["order_id"],
                    error=str(error),
                ),
            )

        def rebuild(batch):
            orders = self.SaleOrder.union(*(entry["existing"] for entry, _v in batch))
            orders.order_line.unlink()
            line_vals = []
            for entry, vals in batch:
                vals = dict(vals)
                order = entry["existing"]
                line_vals.extend(
                    {**command[2], "order_id": order.id}
                    for command in vals.pop("order_line")
                )
                order.write(vals)
            self.env["sale.order.line"].create(line_vals)
            return orders

        orders = self.SaleOrder.union(*self._isolated(items, rebuild, failed))
        for entry, _vals in items:
            entry["order"] = entry["existing"] if entry["existing"] in orders else None
        self.stats["completed"] += len(orders)
        # The mapping activity of an order that is complete now is done; an
        # order still waiting keeps its activity, not a second one.
        # The summary the import gives them, in this run's language.
        prefix = self._map_sku_summary("")
        map_activities = orders.activity_ids.filtered(
            lambda activity: (
                activity.activity_type_id
                == self.env.ref("mail.mail_activity_data_todo")
                and (activity.summary or "").startswith(prefix)
            )
        )
        for entry, _vals in items:
            order = entry["order"]
            if order:
                entry["mapping_activity"] = map_activities.filtered(
                    lambda activity, order=order: activity.res_id == order.id
                )
        done = map_activities.filtered(
            lambda activity: (
                not self.SaleOrder.browse(activity.res_id).amazon_unmapped_skus
            )
        )
        if done:
            done.action_feedback(
                feedback=self.env._("Every Amazon SKU of the order has a product.")
            )
        if orders:
            self.env["amazon.import.log"].search(
                [
                    ("account_id", "=", self.account.id),
                    ("amazon_order_ref", "in", orders.mapped("amazon_order_ref")),
                    ("state", "=", "error"),
                ]
            ).write({"state": "done"})
        return orders

    def _isolated(self, items, run, on_error):
        """``run(items)`` in one savepoint; when it fails, ``run([item])`` for
        each item in a savepoint of its own and ``on_error(item, error)`` for
        those that fail, so that one bad record does not stop the others.

        :return: the results of the calls of ``run`` that succeeded
        """
        try:
            with self.env.cr.savepoint():
                return [run(items)]
        except Exception:  # noqa: BLE001 - any failure is isolated below
            _logger.info("Amazon batch step failed, retrying record by record")
        results = []
        for item in items:
            try:
                with self.env.cr.savepoint():
                    results.append(run([item]))
            except Exception as error:  # noqa: BLE001
                on_error(item, error)
        return results

    def _reconcile_totals(self, orders, new):
        """Book what Odoo's tax rounding leaves (one minor unit per line at
        most) so that the order total is Amazon's; anything more is a tax
        set-up to fix, said by an activity, never booked."""
        adjustment = self.env.ref(OTHER_CHARGE_PRODUCT)
        vals_list = []
        missing = []
        for entry in new:
            order = entry.get("order")
            if not order or entry["unmapped"]:
                continue
            taxes = entry["taxes"]
            if taxes["unmatched"]:
                missing.extend(self._note_unmatched_taxes(entry))
            currency = order.currency_id
            # Tax Amazon collects and remits itself is not the seller's.
            expected = float(entry["amounts"]["grand_total"] - taxes["excluded"])
            diff = currency.round(expected - order.amount_total)
            if currency.is_zero(diff):
                continue
            priced = order.order_line.filtered(lambda line: not line.display_type)
            if (
                float_compare(
                    abs(diff), currency.rounding * len(priced), precision_digits=6
                )
                > 0
            ):
                self._schedule_activity(
                    order,
                    "mail.mail_activity_data_warning",
                    self.env._("Amazon's total differs"),
                    self.env._(
                        "The total of order %(order)s is %(odoo)s in Odoo but "
                        "%(amazon)s at Amazon: check its taxes.",
                        order=entry["header"]["order_id"],
                        odoo=order.amount_total,
                        amazon=expected,
                    ),
                )
                self.stats["tax_differences"] += 1
                continue
            vals_list.append(
                {
                    "order_id": order.id,
                    "product_id": adjustment.id,
                    "name": self.env._("Rounding difference with Amazon's total"),
                    "product_uom_qty": 1,
                    "price_unit": diff,
                    "tax_id": [Command.clear()],
                }
            )
        if vals_list:
            self.env["sale.order.line"].create(vals_list)
            self.stats["adjusted"] += len(vals_list)
        if missing:
            self.account._amazon_note_missing_taxes(missing)

    def _note_unmatched_taxes(self, entry):
        """An activity naming the rates no Odoo tax matches; those rates."""
        taxes = entry["taxes"]
        marketplace = taxes["marketplace"]
        ref = entry["header"]["order_id"]
        rates = []
        for facilitator in (False, True):
            parts = [(n, t) for n, t, f in taxes["unmatched"] if f == facilitator]
            price_include = taxes["price_include"]
            rates.extend(
                (marketplace, percent, price_include, facilitator, ref)
                for percent in guess_percent(parts, price_include, taxes["quantum"])
            )
        self.stats["tax_unmatched"] += 1
        labels = ", ".join(
            self.env._(
                "%(rate)s %% (%(kind)s)",
                rate=percent,
                kind=self.env._("collected by Amazon")
                if facilitator
                else self.env._("price included")
                if incl
                else self.env._("added on top"),
            )
            for _m, percent, incl, facilitator, _r in rates
        )
        self._schedule_activity(
            entry["order"],
            "mail.mail_activity_data_warning",
            self.env._("Amazon tax without Odoo tax"),
            self.env._(
                "Amazon %(marketplace)s charged tax at %(rates)s on order %(order)s "
                "and no Odoo sale tax of the company computes it: those lines carry "
                "Amazon's amounts without tax. Create the taxes (channel %(channel)s, "
                "Create Missing Taxes) or set the marketplace's Fiscal Position or "
                "Facilitator Tax Account (Amazon Marketplaces), then correct the "
                "taxes of this order.",
                marketplace=marketplace.name or "-",
                rates=labels or "-",
                order=ref,
                channel=self.account.name,
            ),
        )
        return rates

    def _add_customizations(self, new, client):
        level = self.account.customization_level
        jobs = []
        for entry in new:
            order = entry.get("order")
            if not order:
                continue
            customized = [
                line for line in entry["amounts"]["lines"] if line["customized_url"]
            ]
            if not customized:
                continue
            order_lines = {line.amazon_item_ref: line for line in order.order_line}
            jobs.extend(
                (entry, order_lines.get(line["item_id"]), line) for line in customized
            )
        if not jobs:
            return
        stored = self._stored_customizations(jobs)
        # A few files at a time: a page may hold a hundred customised items of
        # up to MAX_CUSTOMIZATION_BYTES each, never all in memory at once.
        step = DOWNLOAD_WORKERS * 2
        for start in range(0, len(jobs), step):
            self._add_customization_files(
                jobs[start : start + step], client, level, stored
            )

    def _stored_customizations(self, jobs):
        """{(order id, file name): attachment} of the personalisation files a
        quotation completed in place got at its first import.

        They are read again rather than downloaded: a second copy would be
        attached, and Amazon's link may have expired since.
        """
        orders = self.SaleOrder.union(
            *(entry["order"] for entry, _order_line, _line in jobs if entry["existing"])
        )
        if not orders:
            return {}
        attachments = self.env["ir.attachment"].search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "in", orders.ids),
                (
                    "name",
                    "in",
                    [_customization_file(line) for _entry, _ol, line in jobs],
                ),
            ]
        )
        return {(att.res_id, att.name): att for att in attachments}

    def _add_customization_files(self, jobs, client, level, stored):
        kept = [
            stored.get((entry["order"].id, _customization_file(line)))
            for entry, _order_line, line in jobs
        ]
        # A kept file a user replaced or damaged since is not Amazon's: it is
        # downloaded again and replaced, as long as Amazon's link still works.
        damaged = {}
        for index, attachment in enumerate(kept):
            if attachment and not _readable_customization(attachment.raw, level):
                damaged[index], kept[index] = attachment, None
        urls = [
            line["customized_url"]
            for (_entry, _order_line, line), attachment in zip(jobs, kept, strict=True)
            if not attachment
        ]
        if not urls:
            fetched = []
        elif client is None:
            fetched = [UserError(self.env._("No connection to Amazon."))] * len(urls)
        else:
            # These files at once: each is a round trip to Amazon.
            fetched = client.download_customizations(urls)
        fetched = iter(fetched)
        results = [
            attachment.raw if attachment else next(fetched) for attachment in kept
        ]
        attachments = []
        for index, ((entry, order_line, line), data, attachment) in enumerate(
            zip(jobs, results, kept, strict=True)
        ):
            if isinstance(data, ValueError):
                # download_customizations refuses a link that is not a web address.
                data = AmazonError("customization", params={"detail": str(data)})
            try:
                if isinstance(data, Exception):
                    raise data
                personalisation = custom.parse_customization_zip(data, level=level)
            except Exception as error:  # noqa: BLE001 - a bad file never loses the order
                if isinstance(error, AmazonError):
                    message = self.account._amazon_error_message(error)
                elif isinstance(error, UserError):
                    message = str(error)
                else:
                    message = self.env._(
                        "The personalisation of item %(item)s could not be read: "
                        "%(error)s",
                        item=line["item_id"],
                        error=_error_text(error),
                    )
                self._log_message(entry, message)
                if order_line:
                    order_line.amazon_customization = message
                continue
            if order_line:
                order_line.amazon_customization = personalisation["text"]
            if attachment:
                continue
            if index in damaged:
                damaged[index].raw = data
                continue
            attachments.append(
                {
                    "name": _customization_file(line),
                    "datas": base64.b64encode(data),
                    "res_model": "sale.order",
                    "res_id": entry["order"].id,
                    "mimetype": "application/zip",
                }
            )
        if attachments:
            self.env["ir.attachment"].create(attachments)

    def _confirm(self, new):
        confirmable = [
            entry for entry in new if entry.get("order") and not entry["unmapped"]
        ]
        to_confirm = self.SaleOrder.union(*(entry["order"] for entry in confirmable))
        shipped = self.SaleOrder.union(
            *(
                entry["order"]
                for entry in confirmable
                if entry["header"]["fulfilled_by"] == "AMAZON"
                or entry["header"]["status"] == "SHIPPED"
            )
        )
        if to_confirm:
            self._subscribe_customers(to_confirm)
            self.stats["confirmed"] += len(to_confirm)
        # What Amazon already shipped left the warehouse first: it is confirmed
        # and delivered before the orders still to ship reserve their stock.
        if shipped:
            self._confirm_orders(
                shipped,
                amazon_unreserved_product_ids=self._plain_stock_products(shipped),
            )
            self._validate_deliveries(shipped)
        to_ship = to_confirm - shipped
        if to_ship:
            self._confirm_orders(to_ship)
            # Partially shipped: what Amazon shipped already leaves at once, the
            # delivery keeps only the units still to ship.
            partly = {
                entry["header"]["order_id"]: {
                    line["item_id"]: line["quantity_shipped"]
                    for line in entry["amounts"]["lines"]
                }
                for entry in confirmable
                if entry["order"] in to_ship
                and any(line["quantity_shipped"] for line in entry["amounts"]["lines"])
            }
            if partly:
                self._deliver_shipped_units(
                    to_ship.filtered(lambda o: o.amazon_order_ref in partly), partly
                )
        waiting = [entry for entry in new if entry.get("order") and entry["unmapped"]]
        for entry in waiting:
            if entry.get("mapping_activity"):
                continue
            self._schedule_activity(
                entry["order"],
                "mail.mail_activity_data_todo",
                self._map_sku_summary(", ".join(entry["unmapped"])),
                self.env._(
                    "Amazon order %(order)s has SKUs without product: %(skus)s. Map "
                    "them on the channel (Amazon SKU mapping), then click Retry on the "
                    "order.",
                    order=entry["header"]["order_id"],
                    skus=", ".join(entry["unmapped"]),
                ),
            )
        self.stats["waiting_mapping"] += len(waiting)

    def _map_sku_summary(self, skus):
        return self.env._("Map Amazon SKU %(skus)s", skus=skus)

    @staticmethod
    def _confirm_orders(orders, **context):
        orders.with_context(amazon_batch_origin_links=True, **context).action_confirm()
        # Their deliveries are new: each gets the note sale_stock would post.
        orders.picking_ids._amazon_log_origin_links()

    def _subscribe_customers(self, orders):
        """Make the customers followers in one insert.

        action_confirm() subscribes each order's customer one order at a time
        (several queries each); it skips the orders already followed.
        """
        orders = orders.filtered(lambda o: o.partner_id not in o.message_partner_ids)
        if not orders:
            return
        subtypes = self.env["mail.message.subtype"].default_subtypes("sale.order")[2]
        self.env["mail.followers"].sudo().create(
            [
                {
                    "res_model": "sale.order",
                    "res_id": order.id,
                    "partner_id": order.partner_id.id,
                    "subtype_ids": [Command.set(subtypes.ids)],
                }
                for order in orders
            ]
        )
        orders.invalidate_recordset(["message_follower_ids", "message_partner_ids"])

    def _plain_stock_products(self, orders):
        """Untracked products of these orders stored only directly in their
        warehouses' stock locations, without package or owner.

        A move line at the stock location finds such stock without a
        reservation; stock in a bin, a package or of an owner needs one.
        """
        products = orders.order_line.product_id.filtered(
            lambda p: p.is_storable and p.tracking == "none"
        )
        locations = orders.warehouse_id.lot_stock_id
        if not products or not locations:
            return ()
        nested = (
            self.env["stock.quant"]
            .sudo()
            ._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("location_id", "child_of", locations.ids),
                    "|",
                    "|",
                    "|",
                    ("location_id", "not in", locations.ids),
                    ("package_id", "!=", False),
                    ("owner_id", "!=", False),
                    ("lot_id", "!=", False),
                ],
                ["product_id"],
            )
        )
        return tuple(sorted(set(products.ids) - {p.id for (p,) in nested}))

    def _validate_deliveries(self, orders):
        """Amazon already shipped these: mark their deliveries done.

        Missing stock does not block it (Amazon's stock is not Odoo's); an
        activity tells the responsible person to check the FBA inventory. A
        delivery Odoo refuses to validate (e.g. a serial number is needed) is
        left open with an activity; the other deliveries are validated.
        """
        pickings = orders.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel")
        )
        if not pickings:
            return
        moves = pickings.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        short = self._short_moves(moves)

        def refused(picking, error):
            nonlocal short
            short -= picking.move_ids
            self._delivery_refused(
                picking,
                self.env._(
                    "Amazon shipped order %(order)s but Odoo could not "
                    "validate delivery %(picking)s: %(error)s",
                    order=picking.sale_id.amazon_order_ref,
                    picking=picking.name,
                    error=str(error.args[0] if error.args else error),
                ),
            )

        self._isolated(
            list(pickings),
            lambda items: self._mark_done(pickings.browse().concat(*items)),
            refused,
        )
        by_order = defaultdict(list)
        for move in short:
            by_order[move.picking_id.sale_id].append(move.product_id.display_name)
        for order, products in by_order.items():
            self._schedule_activity(
                order,
                "mail.mail_activity_data_warning",
                self.env._("Amazon order shipped without stock in Odoo"),
                self.env._(
                    "Amazon shipped order %(order)s but warehouse %(warehouse)s has "
                    "not enough stock of %(products)s in Odoo: check its inventory.",
                    order=order.amazon_order_ref,
                    warehouse=order.warehouse_id.name,
                    products=", ".join(sorted(set(products))),
                ),
            )
        self.stats["delivered"] += len(
            orders.filtered(lambda o: all(p.state == "done" for p in o.picking_ids))
        )

    def _mark_done(self, pickings):
        moves = pickings.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        # Moves confirmed without reservation get their lines in one batch.
        unreserved = moves.filtered(
            lambda m: (
                m.product_id.is_storable
                and m.product_id.tracking == "none"
                and not m.move_line_ids
            )
        )
        if unreserved:
            line_vals = []
            for move in unreserved:
                vals = move._prepare_move_line_vals(quantity=0)
                vals["quantity"] = move.product_uom_qty
                line_vals.append(vals)
            self.env["stock.move.line"].create(line_vals)._apply_putaway_strategy()
        # Reservation already set most other quantities: write only the rest.
        for move in moves:
            if move.quantity != move.product_uom_qty:
                move.quantity = move.product_uom_qty
        moves.picked = True
        pickings.with_context(
            skip_backorder=True, skip_sms=True, skip_immediate=True
        ).button_validate()

    @staticmethod
    def _short_moves(moves):
        """The storable moves the warehouse cannot cover, before validation.

        A reserved move is short when reserved below its demand. An unreserved
        one takes from the location's free stock in order, so two orders
        sharing the last unit leave the second one short.
        """
        short = moves.browse()
        free = {}
        # A later step of a multi-step delivery gets its goods from the earlier
        # step validated with it: only the first step can lack stock.
        storable = moves.filtered(
            lambda m: (
                m.product_id.is_storable
                and not m._should_bypass_reservation()
                and not m.move_orig_ids
            )
        )
        for location, location_moves in storable.grouped("location_id").items():
            unreserved = location_moves.filtered(lambda m: not m.move_line_ids)
            products = unreserved.product_id.with_context(location=location.id)
            free.update(
                ((product.id, location.id), product.free_qty) for product in products
            )
        for move in storable.sorted(lambda m: (m.picking_id.id, m.id)):
            if move.move_line_ids:
                missing = (
                    float_compare(
                        move.quantity,
                        move.product_uom_qty,
                        precision_rounding=move.product_uom.rounding,
                    )
                    < 0
                )
            else:
                key = (move.product_id.id, move.location_id.id)
                missing = (
                    float_compare(
                        free[key],
                        move.product_qty,
                        precision_rounding=move.product_id.uom_id.rounding,
                    )
                    < 0
                )
                free[key] -= move.product_qty
            if missing:
                short |= move
        return short

    def _delivery_refused(self, picking, note):
        """A delivery Odoo would not validate stays open, with an activity."""
        self.stats["delivery_errors"] += 1
        self._schedule_activity(
            picking.sale_id,
            "mail.mail_activity_data_warning",
            self.env._("Validate the Amazon delivery"),
            note,
        )

    def _schedule_activity(self, order, activity_xmlid, summary, note):
        """An activity for the channel's responsible person on an imported order."""
        order.activity_schedule(
            activity_xmlid,
            summary=summary,
            # The note is HTML: SKUs and names from Amazon must stay text.
            note=escape(note),
            user_id=self.account.user_id.id or self.env.uid,
        )

    # --- updates and cancellations ---------------------------------------------

    def _update_orders(self, updates):
        by_values = defaultdict(lambda: self.SaleOrder)
        for order, header in updates:
            key = (header["status"], header["last_updated"])
            by_values[key] |= order
        for (status, last_updated), orders in by_values.items():
            orders.write({"amazon_status": status, "amazon_last_update": last_updated})
        self.SaleOrder._amazon_apply_ship_windows(updates)
        self.stats["updated"] += len(updates)
        # Units Amazon says the seller shipped that Odoo has not delivered (the
        # warehouse shipped without Odoo): delivered now, each unit once.
        shipped = self.SaleOrder.union(
            *(
                order
                for order, header in updates
                if header["status"] in ("PARTIALLY_SHIPPED", "SHIPPED")
                and order.amazon_fulfilled_by == "MERCHANT"
                and order.state == "sale"
            )
        )
        if shipped:
            self._deliver_shipped_units(shipped, self.shipped_units)
        self.env["amazon.shipment"]._amazon_orders_updated(updates)

    def _deliver_shipped_units(self, orders, shipped_units):
        """Validate the units Amazon reports shipped and Odoo has not delivered.

        The open delivery of each order is validated for those units only; the
        rest stays in a backorder. Units delivered already in Odoo count, so no
        unit is ever delivered twice.

        :param shipped_units: {Amazon order ID: {order item ID: units shipped}}
        """
        quantities = {}
        for order in orders:
            shipped = shipped_units.get(order.amazon_order_ref) or {}
            lines = order.order_line.filtered("amazon_item_ref")
            for item_id, item_lines in lines.grouped("amazon_item_ref").items():
                missing = shipped.get(item_id, 0) - sum(
                    item_lines.mapped("qty_delivered")
                )
                moves = item_lines.move_ids.filtered(
                    lambda m: (
                        m.state not in ("done", "cancel")
                        and m.location_dest_id.usage == "customer"
                    )
                )
                for move in moves.sorted("id"):
                    take = max(min(missing, move.product_uom_qty), 0)
                    quantities[move] = take
                    missing -= take
        pickings = self.env["stock.picking"].union(*(m.picking_id for m in quantities))
        pickings = pickings.filtered(
            lambda p: any(quantities.get(move) for move in p.move_ids)
        )
        if not pickings:
            return

        def validate(items):
            batch = pickings.browse().concat(*items)
            for move in batch.move_ids.filtered(
                lambda m: m.state not in ("done", "cancel")
            ):
                move.quantity = quantities.get(move, 0)
                move.picked = bool(move.quantity)
            # Backorders for the units still to ship, without asking.
            batch.with_context(
                skip_backorder=True, skip_sms=True, skip_immediate=True
            ).button_validate()

        def refused(picking, error):
            self._delivery_refused(
                picking,
                self.env._(
                    "Amazon reports units of order %(order)s shipped but Odoo could "
                    "not validate them on delivery %(picking)s: %(error)s",
                    order=picking.sale_id.amazon_order_ref,
                    picking=picking.name,
                    error=str(error.args[0] if error.args else error),
                ),
            )

        self._isolated(list(pickings), validate, refused)
        self.stats["partly_delivered"] += len(pickings)

    def _cancel_orders(self, cancels):
        orders = self.SaleOrder.union(*(order for order, _header in cancels))
        self.env["amazon.shipment"]._amazon_orders_cancelled(orders)
        orders = orders.filtered(lambda o: o.state != "cancel")
        delivered = orders.filtered(
            lambda o: any(p.state == "done" for p in o.picking_ids)
        )
        to_cancel = orders - delivered
        if to_cancel:
            to_cancel._action_cancel()
        for order in delivered:
            self._schedule_activity(
                order,
                "mail.mail_activity_data_warning",
                self.env._("Cancelled at Amazon after delivery"),
                self.env._(
                    "Amazon cancelled order %(order)s but it was already delivered: "
                    "arrange a return or a refund.",
                    order=order.amazon_order_ref,
                ),
            )
        by_status = defaultdict(lambda: self.SaleOrder)
        for order, header in cancels:
            by_status[header["status"]] |= order
        for status, status_orders in by_status.items():
            status_orders.amazon_status = status
        self.stats["cancelled"] += len(to_cancel)
        self.stats["cancel_after_delivery"] += len(delivered)
