# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import logging
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta, timezone

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import (
    format_datetime,
    plaintext2html,
)

from .. import const
from ..amazon import (
    AmazonError,
    ThrottledError,
    unexpected_summary,
)

_logger = logging.getLogger(__name__)

IMPORT_LOCK = "sale_amazon_spapi.import_orders"
# "Import now" stays within the request; the cron continues a longer backlog.
IMPORT_NOW_MAX_BATCHES = 5
# How far back a first import may reach: Amazon keeps a longer history, but a
# longer backlog would take hours of searchOrders pages.
IMPORT_MAX_LOOKBACK_DAYS = 730
IMPORT_INCIDENT_ACTIVITY = "sale_amazon_spapi.mail_activity_type_amazon_import_incident"


class AmazonAccount(models.Model):
    """The order import of a channel: "Import Orders Now", the cron, its pages,
    locks and incidents, and the products of Amazon's items."""

    _inherit = "amazon.account"

    # === ACTION METHODS - ORDERS === #

    def action_open_import_now(self):
        """Import Orders Now: a channel that never imported first says which
        period it imports and lets the user reach further back."""
        self.check_access("read")
        if (
            len(self) != 1
            or self.last_import_run
            or self.import_next_token
            or self.sudo()._get_import_blocker()
        ):
            # The blocker, if any, is told by the import itself.
            return self.action_import_orders()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Import Orders Now"),
            "res_model": "amazon.import.now.wizard",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    def action_import_orders(self):
        """Import now, in this request, up to a few pages; the cron does the rest."""
        self.check_access("read")
        stats = Counter()
        for account in self.sudo():
            # The import writes what an Amazon user may not write directly
            # (channel cursor, pricelists, logs); sudo keeps the user as author.
            result = account._import_orders(max_batches=IMPORT_NOW_MAX_BATCHES)
            if result.get("skipped"):
                raise UserError(
                    self.env._(
                        "Channel %(channel)s did not import: %(reason)s",
                        channel=account.name,
                        reason=result["skipped"],
                    )
                )
            stats.update({k: v for k, v in result.items() if isinstance(v, int)})
        message = self.env._(
            "%(created)s new order(s), %(updated)s updated, %(cancelled)s cancelled, "
            "%(errors)s error(s).",
            created=stats["created"],
            updated=stats["updated"],
            cancelled=stats["cancelled"],
            errors=stats["errors"] + stats["failed"],
        )
        failures = [
            f"{account.name}: {account.import_incident_message}"
            for account in self.sudo()
            if account.import_incident == "failing"
        ]
        if stats["failed"] and failures:
            message += " " + " ".join(failures)
        if stats["throttled"] or any(self.mapped("import_next_token")):
            message += " " + self.env._("The rest follows with the scheduled import.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Amazon import"),
                "message": message,
                "type": "warning" if stats["errors"] or stats["failed"] else "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_view_sale_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action.update(
            domain=[("amazon_account_id", "=", self.id)],
            context={"default_amazon_account_id": self.id, "create": False},
        )
        return action

    def action_view_to_ship(self):
        """The channel's Amazon deliveries to ship, filtered as the button says."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_amazon_spapi.action_amazon_to_ship"
        )
        due = self.env.context.get("amazon_ship_due")
        context = {"search_default_amazon_group_ship_by": 1, "create": False}
        if due in ("today", "late"):
            context[f"search_default_amazon_{due}"] = 1
        action["context"] = context
        action["domain"] = self.env["stock.picking"]._amazon_to_ship_domain() + [
            ("amazon_account_id", "=", self.id)
        ]
        return action

    def action_view_import_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_amazon_spapi.action_amazon_import_log"
        )
        action.update(
            domain=[("account_id", "=", self.id)],
            context={"search_default_to_retry": 1},
        )
        return action

    # === BUSINESS METHODS - ORDER IMPORT === #

    def _get_amazon_fulfilled_by(self):
        self.ensure_one()
        return {
            "mfn": ("MERCHANT",),
            "afn": ("AMAZON",),
            "both": ("MERCHANT", "AMAZON"),
        }[self.fba_mode]

    def _get_import_start(self):
        """Where a new search window starts: the period chosen for a first
        import ("Import Orders Now"), else the cursor or the look-back."""
        self.ensure_one()
        now = fields.Datetime.now()
        cursor = self.use_last_import_datetime and self.last_import_datetime
        start = self.env.context.get("amazon_import_start")
        # Any Amazon user runs imports, with a context of their choice: the
        # chosen start serves a channel's first run only, and never moves it
        # past a cursor, which would skip the orders not imported yet.
        if start and not self.last_import_run:
            oldest = now - timedelta(days=IMPORT_MAX_LOOKBACK_DAYS)
            start = min(max(fields.Datetime.to_datetime(start), oldest), now)
            return min(start, cursor) if cursor else start
        if cursor:
            return cursor
        return now - timedelta(days=self.lookback_days)

    def _is_import_due(self, now):
        self.ensure_one()
        return (
            not self.last_import_run
            or self.import_next_token
            or self.last_import_run + timedelta(minutes=self.import_interval) <= now
        )

    @api.model
    def _cron_import_orders(self):
        now = fields.Datetime.now()
        accounts = self.search([("enabled", "=", True)])
        due = accounts.filtered(lambda a: a._is_import_due(now))
        commit = self._can_commit()
        for done, account in enumerate(due, start=1):
            account._import_orders_guarded(commit)
            self.env["ir.cron"]._notify_progress(
                done=done,
                remaining=len(due) - done + (1 if account.import_next_token else 0),
            )

    def _import_orders_guarded(self, commit):
        """Import this channel; whatever it raises, the next channel still runs.

        The failure becomes an incident of the channel (one log entry, one
        alert) instead of the failure of the whole job, which Odoo would end
        up switching off.
        """
        self.ensure_one()
        try:
            if commit:
                self._import_orders(commit=True)
            else:
                with self.env.cr.savepoint():
                    self._import_orders()
        except Exception as error:
            if commit:
                self.env.cr.rollback()
            _logger.exception("Amazon import of channel %s failed", self.id)
            logs_before = self._get_open_error_logs()
            self._update_import_incident(
                "failing",
                self.env._(
                    "The import stopped on an unexpected error: %(error)s",
                    error=unexpected_summary(error),
                ),
            )
            new_errors = self._get_open_error_logs() - logs_before
            if new_errors:
                self._send_error_digest(new_errors)
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _import_orders(self, max_batches=None, commit=False):
        """Import the orders created or updated since the cursor, page by page.

        Each page (up to 100 orders, one searchOrders call) is processed in a
        savepoint and committed when ``commit`` is set (cron), together with the
        resume state, so a crash, a kill or throttling loses at most the page in
        progress, and the next run takes over from the last committed page. The
        cursor (Last Imported Datetime) moves only when a window is complete, and
        then to Amazon's own upper bound of that window.

        :return: Counter of what happened; ``skipped`` says why nothing was done
        """
        self.ensure_one()
        stats = Counter()
        blocker = self._get_import_blocker()
        if blocker:
            _logger.info("Amazon import of channel %s skipped: %s", self.id, blocker)
            stats["skipped"] = blocker
            return stats
        with self._import_lock(commit=commit) as locked:
            if not locked:
                _logger.info(
                    "Amazon import of channel %s is already running: skipped", self.id
                )
                stats["skipped"] = self.env._("an import is already running")
                return stats
            run_start = fields.Datetime.now()
            logs_before = self._get_open_error_logs()
            with self._get_amazon_client() as client:
                failure = self._import_pages(client, stats, max_batches, commit)
            self.last_import_run = run_start
            self._check_import_health(stats, failure, run_start)
            new_errors = self._get_open_error_logs() - logs_before
            if new_errors:
                self._send_error_digest(new_errors)
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if self.import_next_token and max_batches:
            # The rest of the backlog is for the scheduled job, right away.
            self.env.ref("sale_amazon_spapi.ir_cron_amazon_import_orders")._trigger()
        return stats

    def _get_open_error_logs(self):
        self.ensure_one()
        return self.import_log_ids.filtered(lambda log: log.state == "error")

    # --- Import health: one alert per incident --- #

    def _check_import_health(self, stats, failure, now):
        """Open, escalate or close the channel's import incident after a run.

        An incident is a channel-level trouble lasting across runs: Amazon
        refusing or failing the search, throttling that lets no page through
        for an hour, or a search window that does not complete for several
        intervals. Each gives one log entry, one e-mail and one activity for
        the responsible when it starts, not one per run; the first healthy run
        closes it with a note in the chatter.

        :param stats: Counter of the run
        :param failure: the AmazonError that stopped the search, or None
        """
        self.ensure_one()
        if failure is not None:
            self._update_import_incident(
                "failing",
                self._amazon_error_message(failure),
                request_id=failure.request_id,
            )
            return
        if stats["throttled"] and not stats["calls"]:
            since = self.import_throttled_since or now
            if not self.import_throttled_since:
                self.import_throttled_since = since
            if now - since >= timedelta(minutes=const.IMPORT_THROTTLED_ALERT_MINUTES):
                self._update_import_incident(
                    "throttled",
                    self.env._(
                        "Amazon has throttled every search of this channel since "
                        "%(since)s: no order was imported since. Another "
                        "application using the same seller account may be "
                        "spending the searchOrders quota.",
                        since=self._format_utc(since),
                    ),
                )
            return
        if self.import_throttled_since:
            self.import_throttled_since = False
        opened_on = self.import_window_opened_on
        stalled_after = timedelta(
            minutes=max(
                const.IMPORT_STALLED_INTERVALS * self.import_interval,
                const.IMPORT_THROTTLED_ALERT_MINUTES,
            )
        )
        if self.import_next_token and opened_on and now - opened_on >= stalled_after:
            self._update_import_incident(
                "stalled",
                self.env._(
                    "The import has not completed its search window since "
                    "%(since)s (orders updated after %(start)s): it goes on page "
                    "by page at the pace Amazon allows (one searchOrders page "
                    "every few minutes once the burst is spent). Check that the "
                    "scheduled action runs, and that the look-back is not "
                    "longer than needed.",
                    since=self._format_utc(opened_on),
                    start=self._format_utc(self.import_window_start),
                ),
            )
            return
        if self.import_incident:
            self._close_import_incident(now)

    def _update_import_incident(self, kind, message, request_id=None):
        """Record the incident ``kind``; alert only when it starts or changes kind."""
        self.ensure_one()
        if self.import_incident == kind:
            return False
        labels = dict(self._fields["import_incident"]._description_selection(self.env))
        vals = {"import_incident": kind, "import_incident_message": message}
        if not self.import_incident:
            vals["import_incident_since"] = fields.Datetime.now()
        self.write(vals)
        self.env["amazon.import.log"].create(
            {
                "account_id": self.id,
                "message": self.env._(
                    "%(incident)s: %(message)s", incident=labels[kind], message=message
                ),
                "request_id": request_id,
            }
        )
        self.activity_unlink([IMPORT_INCIDENT_ACTIVITY])
        user = self.user_id or self.env.ref("base.user_admin", raise_if_not_found=False)
        self.activity_schedule(
            IMPORT_INCIDENT_ACTIVITY,
            summary=self.env._(
                "Amazon import: %(incident)s", incident=labels[kind].lower()
            ),
            note=plaintext2html(message),
            user_id=user.id if user else self.env.uid,
        )
        return True

    def _close_import_incident(self, now):
        self.ensure_one()
        labels = dict(self._fields["import_incident"]._description_selection(self.env))
        self.message_post(
            body=self.env._(
                "The Amazon import works again (%(incident)s since %(since)s).",
                incident=labels[self.import_incident].lower(),
                since=self._format_utc(self.import_incident_since or now),
            ),
            subtype_xmlid="mail.mt_note",
        )
        self.activity_unlink([IMPORT_INCIDENT_ACTIVITY])
        self.import_log_ids.filtered(
            lambda log: log.state == "error" and not log.amazon_order_ref
        ).state = "done"
        self.write(
            {
                "import_incident": False,
                "import_incident_since": False,
                "import_incident_message": False,
            }
        )

    def _format_utc(self, value):
        """A stored (UTC) datetime in the user's time zone, for messages."""
        return format_datetime(self.env, value) if value else "-"

    def _import_pages(self, client, stats, max_batches, commit):
        SaleOrder = self.env["sale.order"]
        window_start = self.import_window_start or self._get_import_start()
        token = self.import_next_token or None
        restarted = False
        batches = 0
        while True:
            try:
                page = client.search_orders(
                    last_updated_after=window_start,
                    pagination_token=token,
                    fulfilled_by=self._get_amazon_fulfilled_by(),
                    max_results=self._import_page_size,
                )
            except ThrottledError as error:
                stats["throttled"] += 1
                _logger.info(
                    "Amazon import of channel %s throttled, resumes next run: %s",
                    self.id,
                    error.code,
                )
                break
            except AmazonError as error:
                if error.code == "pagination_expired" and token and not restarted:
                    # A page token lives 24 h: search the window again (re-seen
                    # orders are updated, never duplicated).
                    token, restarted = None, True
                    continue
                # Logged once per incident, not once per run (_check_import_health).
                stats["failed"] += 1
                return error
            stats["calls"] += 1
            with self.env.cr.savepoint():
                stats.update(
                    SaleOrder._amazon_import_batch(
                        self, page.orders, request_id=page.request_id, client=client
                    )
                )
                # Amazon's bound is aware UTC; Odoo stores naive UTC.
                window_end = (
                    page.window_end.astimezone(timezone.utc).replace(tzinfo=None)
                    if page.window_end
                    else self.import_window_end
                )
                if page.next_token:
                    self.write(
                        {
                            "import_window_start": window_start,
                            "import_window_end": window_end,
                            "import_next_token": page.next_token,
                            "import_window_opened_on": self.import_window_opened_on
                            or fields.Datetime.now(),
                        }
                    )
                else:
                    self.write(
                        {
                            "last_import_datetime": max(
                                window_end or window_start, window_start
                            ),
                            "import_window_start": False,
                            "import_window_end": False,
                            "import_next_token": False,
                            "import_window_opened_on": False,
                        }
                    )
            batches += 1
            if commit:
                # One page and its resume state per transaction (cron only): a
                # crash or kill loses at most the page in progress.
                self.env.cr.commit()  # pylint: disable=invalid-commit
            token = page.next_token
            if not token or (max_batches and batches >= max_batches):
                break
        return None

    def _get_import_blocker(self):
        """Why this channel cannot import now (translated), or False."""
        self.ensure_one()
        if not self.enabled or not self.active:
            return self.env._("the channel is disabled")
        if not self.marketplace_ids:
            return self.env._("the channel has no marketplace")
        credentials = self.sudo()
        if not (
            credentials.lwa_client_id
            and credentials.lwa_client_secret
            and credentials.lwa_refresh_token
        ):
            return self.env._("the channel is not authorised yet")
        if hasattr(self, "_get_credentials_blocker"):
            return self._get_credentials_blocker()
        return False

    def _raise_if_blocked(self):
        """Stop a user's action on a channel that cannot call Amazon, saying why."""
        blocker = self._get_import_blocker()
        if blocker:
            raise UserError(
                self.env._(
                    "Channel %(channel)s cannot call Amazon: %(reason)s",
                    channel=self.name,
                    reason=blocker,
                )
            )

    @contextmanager
    def _import_lock(self, commit=False):
        """Hold the channel's import lock for a whole run.

        A run that commits page by page (cron) holds a PostgreSQL session
        advisory lock on a connection of its own: it survives the commits,
        dies with the connection if the worker is killed, and is released even
        when the import's own transaction is aborted, without masking the
        error that aborted it. A run that does not commit ("Import Orders
        Now", one order) holds a transaction lock instead, released only when
        its transaction ends: a cron run cannot start on orders not committed
        yet.
        """
        with self._advisory_lock(IMPORT_LOCK, commit) as locked:
            yield locked

    def _log_import_error(self, error, order_ref=None, payload=None):
        self.env["amazon.import.log"].create(
            {
                "account_id": self.id,
                "amazon_order_ref": order_ref,
                "message": self._amazon_error_message(error),
                "payload": payload,
                "request_id": error.request_id,
            }
        )

    def _log_retry_failures(self, failures):
        """Log the orders Amazon did not return on a retry: each replaces the
        order's entry to retry, so an order is listed once. An order Amazon
        does not know (404) will not come back by retrying: its entry is
        logged as resolved."""
        self.env["amazon.import.log"].search(
            [
                ("account_id", "=", self.id),
                ("amazon_order_ref", "in", [ref for ref, _error in failures]),
                ("state", "=", "error"),
            ]
        ).write({"state": "done"})
        self.env["amazon.import.log"].create(
            [
                {
                    "account_id": self.id,
                    "amazon_order_ref": ref,
                    "message": self._amazon_error_message(error),
                    "request_id": error.request_id,
                    "state": "done"
                    if error.code == "not_found" or error.status == 404
                    else "error",
                }
                for ref, error in failures
            ]
        )

    def _import_order_refs(self, refs):
        """Import the given Amazon orders one by one (getOrder): support and retries."""
        self.ensure_one()
        self._raise_if_blocked()
        SaleOrder = self.env["sale.order"]
        stats = Counter()
        with self._import_lock() as locked, self._get_amazon_client() as client:
            if not locked:
                raise UserError(
                    self.env._(
                        "An import of channel %(channel)s is running: try again in a "
                        "minute.",
                        channel=self.name,
                    )
                )
            raw_orders = []
            failures = []
            for ref in refs:
                try:
                    raw_orders.append(client.get_order(ref.strip()))
                except AmazonError as error:
                    failures.append((ref, error))
                    stats["failed"] += 1
            if failures:
                self._log_retry_failures(failures)
            # A quotation waiting for a SKU mapping is completed in place by
            # the import (see _ImportBatch.run).
            if raw_orders:
                stats.update(
                    SaleOrder._amazon_import_batch(self, raw_orders, client=client)
                )
        # The logs of the orders that are now complete need no retry any more.
        complete = SaleOrder.search(
            [
                ("amazon_account_id", "=", self.id),
                ("amazon_order_ref", "in", refs),
                ("amazon_unmapped_skus", "=", False),
            ]
        )
        if complete:
            self.env["amazon.import.log"].search(
                [
                    ("account_id", "=", self.id),
                    ("amazon_order_ref", "in", complete.mapped("amazon_order_ref")),
                    ("state", "=", "error"),
                ]
            ).write({"state": "done"})
        return stats

    def _amazon_find_products(self, skus, asins):
        """Products of Amazon SKUs/ASINs: {("sku", sku) or ("asin", asin): product}.

        Found: by the channel's SKU map, by internal reference, by ASIN and by
        SKU concatenation labels; the caller decides which key wins. A few
        queries for the whole batch, whatever its size.
        """
        self.ensure_one()
        Product = self.env["product.product"]
        company_domain = [("company_id", "in", [self.company_id.id, False])]
        found = {}
        # A mapping's SKU is stored stripped ("Map SKU" offers it so): it
        # serves the SKU Amazon sent with spaces around it too.
        stripped = {sku: sku.strip() for sku in skus if sku}
        maps = self.env["amazon.sku.map"].search(
            [("account_id", "=", self.id), ("sku", "in", list(set(stripped.values())))]
        )
        mapped = {sku_map.sku: sku_map.product_id for sku_map in maps}
        for sku, key in stripped.items():
            if key in mapped:
                found[("sku", sku)] = mapped[key]
                # Marks an explicit mapping: it wins over any other key.
                found[("map", sku)] = mapped[key]
        remaining = {sku for sku in skus if ("sku", sku) not in found}
        # Both keys are looked up: "Use Amazon SKU" only says which one wins
        # when both find a product (see sale.order _resolve_products).
        if remaining:
            for product in Product.search(
                [("default_code", "in", list(remaining)), *company_domain],
                order="id",
            ):
                found.setdefault(("sku", product.default_code), product)
        if asins:
            for product in Product.search(
                [("amazon_asin", "in", list(asins)), *company_domain], order="id"
            ):
                found.setdefault(("asin", product.amazon_asin), product)
        remaining = {sku for sku in skus if ("sku", sku) not in found}
        if remaining and self.sku_concat_labels:
            found.update(self._amazon_find_concatenated(remaining, company_domain))
        return found

    def _amazon_find_concatenated(self, skus, company_domain):
        """Variants whose internal reference plus attribute values make the SKU."""
        labels = [
            label.strip().casefold()
            for label in self.sku_concat_labels.split(",")
            if label.strip()
        ]
        separator = self.sku_separator or "-"
        wanted = {}
        for sku in skus:
            parts = sku.split(separator)
            if len(parts) <= len(labels):
                continue
            reference = separator.join(parts[: -len(labels)])
            values = tuple(part.strip().casefold() for part in parts[-len(labels) :])
            wanted[sku] = (reference, values)
        if not wanted:
            return {}
        references = {reference for reference, _values in wanted.values()}
        Product = self.env["product.product"]
        templates = Product.search(
            [("default_code", "in", list(references)), *company_domain]
        ).product_tmpl_id
        templates |= self.env["product.template"].search(
            [("default_code", "in", list(references)), *company_domain]
        )
        index = {}
        for template in templates:
            refs = {template.default_code} | set(
                template.product_variant_ids.mapped("default_code")
            )
            for variant in template.product_variant_ids:
                by_attribute = {
                    ptav.attribute_id.name.casefold(): ptav.name.casefold()
                    for ptav in variant.product_template_attribute_value_ids
                }
                if not all(label in by_attribute for label in labels):
                    continue
                values = tuple(by_attribute[label] for label in labels)
                for ref in refs - {False}:
                    index.setdefault((ref, values), variant)
        return {("sku", sku): index[key] for sku, key in wanted.items() if key in index}

    def _amazon_marketplaces_by_id(self):
        marketplaces = (
            self.env["amazon.marketplace"]
            .with_context(active_test=False)
            .search([("marketplace_id", "!=", False)])
        )
        return {marketplace.marketplace_id: marketplace for marketplace in marketplaces}

    def _send_error_digest(self, logs):
        """One e-mail per run listing the orders that failed."""
        self.ensure_one()
        self._send_errors_mail(
            "sale_amazon_spapi.amazon_import_error_digest",
            logs,
            self.env._(
                "Amazon import errors on %(channel)s: %(count)s order(s)",
                channel=self.name,
                count=len(logs),
            ),
        )
