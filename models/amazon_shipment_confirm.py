# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import logging
from collections import Counter
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_round, split_every

from .. import const
from ..amazon import AmazonError, ThrottledError, shipments

_logger = logging.getLogger(__name__)

CRON_XMLID = "sale_amazon_spapi.ir_cron_amazon_confirm_shipments"


class AmazonShipmentConfirm(models.AbstractModel):
    """Validated deliveries → shipment confirmations at Amazon.

    The pipeline of amazon.shipment rows: ``_queue`` turns a validated
    delivery into one row per package, ``_send`` sends rows through the
    access layer. Methods marked "Hook" are meant to be extended.

    Exactly once: a chunk of rows is committed as "sending" before its
    requests leave, and their outcome after. A row found "sending" by the next
    run may or may not have reached Amazon; the order's packages at Amazon
    (getOrder) tell, by the row's package reference. A refusal is checked the
    same way before it becomes an error, since Amazon refuses a reference it
    already has.
    """

    _name = "amazon.shipment.confirm"
    _description = "Amazon Shipment Confirmation Service"

    # === QUEUE === #

    @api.model
    def _get_confirmable_pickings(self, pickings):
        """The done deliveries Amazon must hear about.

        Hook: only the last step to the customer of merchant-fulfilled Amazon
        orders that Amazon has neither shipped nor cancelled, once. What the
        order import validates is what Amazon reported shipped: never sent back.
        """
        if self.env.context.get("amazon_import"):
            return pickings.browse()
        return pickings.sudo().filtered(
            lambda p: (
                p.state == "done"
                and p.picking_type_code == "outgoing"
                and p.location_dest_id.usage == "customer"
                and p.sale_id.amazon_account_id.confirm_shipments
                and p.sale_id.amazon_fulfilled_by == "MERCHANT"
                and p.sale_id.amazon_status not in ("SHIPPED", "CANCELLED")
                and p.sale_id.state != "cancel"
                and not p.amazon_shipment_ids
            )
        )

    @api.model
    def _queue(self, pickings):
        """One amazon.shipment per package of each confirmable delivery.

        :raise UserError: a delivery Amazon could not be told about (a tracking
            number missing, quantities Amazon cannot take)
        """
        pickings = self._get_confirmable_pickings(pickings)
        vals_list = []
        for picking in pickings:
            vals_list += self._prepare_shipment_vals_list(picking)
        return self.env["amazon.shipment"].sudo().create(vals_list)

    @api.model
    def _prepare_shipment_vals_list(self, picking):
        """Hook: the rows of one delivery, one per package."""
        lines = []
        for line in picking.move_line_ids:
            sale_line = line.move_id.sale_line_id
            if line.move_id.state != "done" or not sale_line.amazon_item_ref:
                continue
            quantity = line.product_uom_id._compute_quantity(
                line.quantity, sale_line.product_uom, round=False
            )
            lines.append(
                (
                    line.result_package_id.id or None,
                    sale_line.amazon_item_ref,
                    float_round(quantity, precision_digits=6),
                )
            )
        try:
            packages = shipments.group_packages(lines)
        except ValueError:
            raise UserError(
                self.env._(
                    "Amazon takes whole units only: delivery %(picking)s ships a "
                    "fraction of an Amazon order item.",
                    picking=picking.display_name,
                )
            ) from None
        if not packages:
            return []
        carriers = self._prepare_carrier_vals_list(picking, len(packages))
        order = picking.sale_id
        return [
            {
                "picking_id": picking.id,
                "sale_order_id": order.id,
                "account_id": order.amazon_account_id.id,
                "package_id": package_id,
                "items": [[item_id, quantity] for item_id, quantity in items],
                "ship_date": picking.date_done or fields.Datetime.now(),
                **carrier_vals,
            }
            for (package_id, items), carrier_vals in zip(
                packages, carriers, strict=True
            )
        ]

    @api.model
    def _prepare_carrier_vals_list(self, picking, count):
        """Carrier values of a delivery's ``count`` packages, in order.

        Without a carrier Amazon cannot be told: the rows wait in error until
        someone sets it and clicks Resend (validating is not refused, since
        the goods have left).

        :raise UserError: the carrier needs a tracking number and there is none,
            or the tracking numbers do not match the packages
        """
        order_ref = picking.sale_id.amazon_order_ref
        try:
            numbers = shipments.tracking_per_package(
                picking.carrier_tracking_ref, count
            )
        except ValueError:
            raise UserError(
                self.env._(
                    "Delivery %(picking)s has %(count)s packages for Amazon order "
                    "%(order)s but its tracking reference lists a different number "
                    "of tracking numbers: give one per package (separated by "
                    "commas) or a single one for all.",
                    picking=picking.display_name,
                    count=count,
                    order=order_ref,
                )
            ) from None
        carrier = picking.carrier_id
        if not carrier:
            message = self.env._(
                "Delivery %(picking)s has no carrier: set its carrier and tracking "
                "number, then click Resend.",
                picking=picking.display_name,
            )
            return [
                {"state": "error", "message": message, "tracking_number": number}
                for number in numbers
            ]
        if carrier.amazon_tracking_required and not numbers[0]:
            raise UserError(
                self.env._(
                    "Amazon needs the tracking number of delivery %(picking)s "
                    "(Amazon order %(order)s, carrier %(carrier)s): enter it in "
                    "the Tracking Reference of the delivery before validating.",
                    picking=picking.display_name,
                    order=order_ref,
                    carrier=carrier.name,
                )
            )
        return [
            {
                "carrier_code": carrier.amazon_carrier_code or shipments.OTHER,
                "carrier_name": carrier.name,
                "shipping_method": carrier.name,
                "tracking_number": number,
            }
            for number in numbers
        ]

    # === SEND === #

    @api.model
    def _send_now(self, shipments_):
        """ "Send now": the queued rows of these deliveries, within the request."""
        rows = shipments_.sudo().filtered(lambda s: s.state in ("to_send", "sending"))
        if not rows:
            raise UserError(
                self.env._(
                    "There is nothing to send to Amazon: use Resend for the "
                    "confirmations in error."
                )
            )
        stats = self._send(rows)
        if stats["busy"]:
            raise UserError(
                self.env._(
                    "These confirmations are being sent to Amazon right now: try "
                    "again in a minute."
                )
            )
        if stats["blocked"]:
            raise UserError(stats["blocked_reason"])
        return True

    @api.model
    def _send(self, shipments_, commit=False):
        """Send these rows to Amazon, channel by channel.

        :param commit: commit each chunk before and after its requests (cron)
        :return: Counter (sent, error, retry, skipped, in_doubt, busy, blocked;
            ``throttled`` = seconds to wait when Amazon's budget ran out)
        """
        stats = Counter()
        for account, rows in shipments_.sudo().grouped("account_id").items():
            self._send_account(account, rows, commit, stats)
        return stats

    @api.model
    def _send_account(self, account, rows, commit, stats):
        blocker = account._get_import_blocker()
        if blocker:
            _logger.info("Amazon shipments of channel %s wait: %s", account.id, blocker)
            stats["blocked"] += len(rows)
            stats["blocked_reason"] = blocker
            return
        with self._lock(account, commit) as locked:
            if not locked:
                stats["busy"] += len(rows)
                return
            # Another worker may have sent some of them before we got the lock.
            rows.invalidate_recordset(["state"])
            rows = rows.exists().filtered(lambda r: r.state in ("to_send", "sending"))
            logs = self.env["amazon.import.log"]
            with account._get_amazon_client() as client:
                in_doubt = rows.filtered(lambda r: r.state == "sending")
                if in_doubt:
                    logs |= self._settle_in_doubt(client, in_doubt, stats)
                    self._commit(commit)
                to_send = rows.filtered(lambda r: r.state == "to_send")
                for ids in split_every(const.SHIPMENT_CHUNK, to_send.ids):
                    chunk = self._drop_not_needed(to_send.browse(ids), stats)
                    if not chunk:
                        continue
                    chunk.write({"state": "sending"})
                    self._commit(commit)
                    wait, new_logs = self._send_chunk(account, client, chunk, stats)
                    logs |= new_logs
                    self._commit(commit)
                    if wait is not None:
                        stats["throttled"] = max(stats["throttled"], wait)
                        break
            if logs:
                self._send_error_digest(account, logs)
                self._commit(commit)

    def _commit(self, commit):
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _get_waiting_accounts(self, accounts):
        """{account id: why} of the channels that cannot send now: blocked
        (expired credentials, disabled...) or busy (another sender holds the
        channel's lock)."""
        waiting = {}
        for account in accounts.sudo():
            blocker = account._get_import_blocker()
            if blocker:
                _logger.info(
                    "Amazon shipments of channel %s wait: %s", account.id, blocker
                )
                waiting[account.id] = blocker
        others = accounts.filtered(lambda a: a.id not in waiting)
        if others:
            # Two-key advisory locks keep their keys in classid and objid;
            # pg_locks lists the locks of every database of the server.
            self.env.cr.execute(
                """
                SELECT objid::bigint FROM pg_locks
                 WHERE locktype = 'advisory' AND granted AND objsubid = 2
                   AND database = (
                       SELECT oid FROM pg_database WHERE datname = current_database()
                   )
                   AND classid = hashtext(%s)::oid
                   AND objid = ANY(%s::oid[])
                   AND pid <> pg_backend_pid()
                """,
                [const.SHIPMENT_LOCK, others.ids],
            )
            for (account_id,) in self.env.cr.fetchall():
                waiting[account_id] = self.env._("another sender is at work")
        return waiting

    def _lock(self, account, commit=False):
        """One sender per channel at a time (cron, "Send now", other servers),
        held like the import's lock."""
        return account._advisory_lock(const.SHIPMENT_LOCK, commit)

    @api.model
    def _drop_not_needed(self, rows, stats):
        """Rows whose order Amazon shipped or cancelled since they were queued."""
        moot = rows.filtered(
            lambda r: (
                r.sale_order_id.amazon_status in ("SHIPPED", "CANCELLED")
                or r.sale_order_id.state == "cancel"
            )
        )
        if moot:
            moot._skip(self.env._("Amazon reports the order as shipped or cancelled."))
            stats["skipped"] += len(moot)
        return rows - moot

    @api.model
    def _prepare_package_detail(self, shipment):
        """Hook: Amazon's PackageDetail of one row.

        :raise ValueError: values Amazon would refuse
        """
        return shipments.package_detail(
            shipment.reference,
            shipment.carrier_code,
            shipment.carrier_name,
            shipment.tracking_number,
            shipment.ship_date,
            [tuple(item) for item in shipment.items or []],
            shipping_method=shipment.shipping_method,
        )

    @api.model
    def _send_chunk(self, account, client, chunk, stats):
        """Send a chunk of rows; record every outcome.

        :return: (seconds to wait when throttled or None, new error logs)
        """
        outcomes, refused, wait = {}, {}, None
        now = fields.Datetime.now()
        for row in chunk:
            if wait is not None:
                outcomes[row] = {"state": "to_send"}
                continue
            try:
                detail = self._prepare_package_detail(row)
            except ValueError as error:
                outcomes[row] = self._error_vals(row, str(error))
                continue
            try:
                client.confirm_shipment(
                    row.amazon_order_ref,
                    row.sale_order_id.amazon_marketplace_id.marketplace_id,
                    detail,
                )
            except ThrottledError as error:
                wait = error.retry_after
                outcomes[row] = {"state": "to_send"}
            except AmazonError as error:
                if not error.retryable:
                    refused[row] = error
                    continue
                attempts = row.attempts + 1
                message = account._amazon_error_message(error)
                if attempts >= const.SHIPMENT_MAX_ATTEMPTS:
                    outcomes[row] = self._error_vals(row, message, error.request_id)
                else:
                    stats["retry"] += 1
                    outcomes[row] = {
                        "state": "to_send",
                        "attempts": attempts,
                        "message": message,
                        "request_id": error.request_id,
                    }
            else:
                outcomes[row] = {
                    "state": "sent",
                    "sent_on": now,
                    "message": False,
                    "request_id": client.last_request_id,
                }
        if refused:
            # Amazon refuses a package reference it already has: a reply lost
            # on an earlier try is not an error, if the package is this one.
            known = self._get_amazon_packages(client, refused)
            for row, error in refused.items():
                package = known.get(row.amazon_order_ref, {}).get(row.reference)
                if package is None:
                    outcomes[row] = self._error_vals(
                        row, account._amazon_error_message(error), error.request_id
                    )
                    continue
                other = self._get_package_mismatch(row, package)
                if other:
                    outcomes[row] = self._error_vals(row, other, error.request_id)
                else:
                    outcomes[row] = {
                        "state": "sent",
                        "sent_on": now,
                        "message": False,
                        "request_id": error.request_id,
                    }
        return wait, self._record(account, outcomes, stats)

    @api.model
    def _error_vals(self, row, message, request_id=None):
        return {
            "state": "error",
            "attempts": row.attempts + 1,
            "message": message,
            "request_id": request_id,
        }

    @api.model
    def _record(self, account, outcomes, stats):
        """Write the outcomes; errors also go to the import log.

        :return: the new log entries
        """
        Shipment = self.env["amazon.shipment"].sudo()
        sent = Shipment.union(*(r for r, v in outcomes.items() if v["state"] == "sent"))
        for row, vals in outcomes.items():
            stats[vals["state"]] += 1
            if vals["state"] == "sent":
                continue
            row.write(vals)
        # Sent rows differ only by their request id: one UPDATE for the rest.
        if sent:
            sent.write(
                {"state": "sent", "sent_on": fields.Datetime.now(), "message": False}
            )
            for row in sent:
                row.request_id = outcomes[row]["request_id"]
        errors = [row for row, vals in outcomes.items() if vals["state"] == "error"]
        if not errors:
            return self.env["amazon.import.log"]
        return (
            self.env["amazon.import.log"]
            .sudo()
            .create(
                [
                    {
                        "account_id": account.id,
                        "operation": "shipment",
                        "amazon_order_ref": row.amazon_order_ref,
                        "sale_order_id": row.sale_order_id.id,
                        "amazon_shipment_id": row.id,
                        "request_id": outcomes[row].get("request_id"),
                        "message": self.env._(
                            "Amazon was not told that delivery %(picking)s "
                            "(package %(reference)s) shipped: %(error)s",
                            picking=row.picking_id.name,
                            reference=row.reference,
                            error=outcomes[row]["message"],
                        ),
                    }
                    for row in errors
                ]
            )
        )

    @api.model
    def _get_amazon_packages(self, client, rows, failures=None):
        """{Amazon order ID: {package reference: Amazon's package}} for these
        rows' orders; an order Amazon could not be asked about is left out
        (and its error put in ``failures`` when given)."""
        known = {}
        for ref in {row.amazon_order_ref for row in rows}:
            try:
                order = client.get_order(ref, included_data=("PACKAGES",))
            except AmazonError as error:
                _logger.info(
                    "Amazon packages of order %s unknown for now: %s", ref, error.code
                )
                if failures is not None:
                    failures[ref] = error
                continue
            known[ref] = {
                str(package["packageReferenceId"]): package
                for package in (order or {}).get("packages") or []
                if package.get("packageReferenceId") is not None
            }
        return known

    @api.model
    def _get_package_mismatch(self, row, package):
        """Why Amazon's package with this row's reference is not the row's
        (translated), or False.

        References are plain row ids: a restored or copied database, or
        another tool, may have used the same number for the order. Amazon
        gives its package's items and tracking number: both must be the row's.
        """

        def tracking(number):
            return "".join((number or "").split()).casefold()

        theirs = Counter()
        for item in package.get("packageItems") or []:
            theirs[str(item.get("orderItemId"))] += int(item.get("quantity") or 0)
        ours = Counter()
        for item_id, quantity in row.items or []:
            ours[str(item_id)] += int(quantity)
        differences = []
        if "packageItems" in package and theirs != ours:
            differences.append(
                self.env._(
                    "it holds %(theirs)s",
                    theirs=", ".join(f"{i} × {q}" for i, q in theirs.items()) or "-",
                )
            )
        if "trackingNumber" in package and tracking(
            package["trackingNumber"]
        ) != tracking(row.tracking_number):
            differences.append(
                self.env._(
                    "its tracking number is %(number)s",
                    number=package["trackingNumber"] or "-",
                )
            )
        if not differences:
            return False
        return self.env._(
            "Amazon already has a package with reference %(reference)s for order "
            "%(order)s that is not this delivery's: %(differences)s. Check the "
            "order in Seller Central.",
            reference=row.reference,
            order=row.amazon_order_ref,
            differences="; ".join(differences),
        )

    @api.model
    def _settle_in_doubt(self, client, rows, stats):
        """Rows a crash left "sending": sent if Amazon has their package.

        A row Amazon cannot be asked about stays "sending" for the next run,
        SHIPMENT_MAX_ATTEMPTS runs at most: then it is an error, for someone
        to check in Seller Central and Resend (a package Amazon has is then
        refused and recognised, never confirmed twice).

        :return: the new error logs
        """
        failures = {}
        known = self._get_amazon_packages(client, rows, failures)
        now = fields.Datetime.now()
        errors = {}
        account = rows.account_id
        for row in rows:
            packages = known.get(row.amazon_order_ref)
            if packages is None:
                error = failures.get(row.amazon_order_ref)
                attempts = row.attempts + 1
                if attempts < const.SHIPMENT_MAX_ATTEMPTS:
                    row.attempts = attempts
                    stats["in_doubt"] += 1
                    continue
                message = self.env._(
                    "Amazon could not say whether it has package %(reference)s of "
                    "order %(order)s (asked %(count)s times): %(error)s. Check the "
                    "order in Seller Central, then click Resend if the package is "
                    "not there.",
                    reference=row.reference,
                    order=row.amazon_order_ref,
                    count=attempts,
                    error=account._amazon_error_message(error) if error else "-",
                )
                errors[row] = self._error_vals(
                    row, message, error.request_id if error else None
                )
            elif row.reference not in packages:
                row.state = "to_send"
            elif other := self._get_package_mismatch(row, packages[row.reference]):
                errors[row] = self._error_vals(row, other)
            else:
                row.write({"state": "sent", "sent_on": now})
                stats["sent"] += 1
        if not errors:
            return self.env["amazon.import.log"]
        return self._record(account, errors, stats)

    @api.model
    def _send_error_digest(self, account, logs):
        """One e-mail per run listing the confirmations Amazon did not take."""
        account._send_errors_mail(
            "sale_amazon_spapi.amazon_shipment_error_digest",
            logs,
            self.env._(
                "Amazon shipment confirmations failed on %(channel)s: "
                "%(count)s package(s)",
                channel=account.name,
                count=len(logs),
            ),
        )

    @api.model
    def _cron_send(self):
        """The scheduled action: a batch per run, the rest at once after."""
        queue = self.env["amazon.shipment"]._get_queue()
        batch = queue[: const.SHIPMENT_CRON_BATCH]
        stats = self._send(batch, commit=self.env["amazon.account"]._can_commit())
        cron = self.env.ref(CRON_XMLID)
        if stats["throttled"]:
            # Amazon's budget is spent: come back when it has refilled.
            cron._trigger(
                fields.Datetime.now() + timedelta(seconds=stats["throttled"] + 1)
            )
            remaining = 0
        else:
            remaining = len(queue) - len(batch)
        # Only rows settled count as done: a run that settles none (Amazon
        # down, a channel busy meanwhile) must not make Odoo run it again at
        # once, over and over.
        done = sum(stats[state] for state in ("sent", "error", "skipped"))
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return stats
