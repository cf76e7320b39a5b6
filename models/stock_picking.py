# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import datetime, time, timedelta

import pytz
from markupsafe import escape

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools.misc import format_datetime

ORIGIN_LINK = "mail.message_origin_link"
SHIP_DUE = [
    ("late", "Late"),
    ("today", "Due Today"),
    ("tomorrow", "Due Tomorrow"),
    ("later", "Later"),
]


class StockPicking(models.Model):
    _inherit = "stock.picking"

    # --- Amazon ship-by: deadlines, "to ship" view, reminders (issue 15) ---
    amazon_account_id = fields.Many2one(
        related="sale_id.amazon_account_id",
        string="Amazon Channel",
        store=True,
        index="btree_not_null",
    )
    amazon_order_ref = fields.Char(related="sale_id.amazon_order_ref")
    # Text, not a link: warehouse staff need not read Amazon's records.
    amazon_marketplace_name = fields.Char(
        related="sale_id.amazon_marketplace_id.name", string="Marketplace"
    )
    amazon_service_level = fields.Selection(related="sale_id.amazon_service_level")
    amazon_is_prime = fields.Boolean(related="sale_id.amazon_is_prime")
    amazon_gift_message = fields.Text(related="sale_id.amazon_gift_message")
    amazon_ship_due = fields.Selection(
        selection=SHIP_DUE,
        string="Amazon Ship-by Due",
        compute="_compute_amazon_ship_due",
        search="_search_amazon_ship_due",
        help="Where the Amazon ship-by deadline of an open delivery falls, in the "
        "user's time zone.",
    )
    amazon_ship_alert = fields.Selection(
        selection=[("soon", "Reminded"), ("late", "Late Notice")],
        string="Amazon Ship-by Alert",
        readonly=True,
        copy=False,
        help="Last ship-by activity given to the responsible: each is given once.",
    )

    def message_post_with_source(
        self,
        source_ref,
        render_values=None,
        message_type="notification",
        subtype_xmlid=False,
        subtype_id=False,
        **kwargs,
    ):
        # The Amazon import logs the "created from" notes of a whole page of new
        # deliveries at once (_amazon_log_origin_links): one message_post per
        # delivery costs as much as creating the delivery itself.
        values = render_values or {}
        origin = values.get("origin")
        if (
            self.env.context.get("amazon_batch_origin_links")
            and source_ref == ORIGIN_LINK
            and not values.get("edit")
            and isinstance(origin, models.BaseModel)
            and origin._name == "sale.order"
        ):
            return self.env["mail.message"]
        return super().message_post_with_source(
            source_ref,
            render_values=render_values,
            message_type=message_type,
            subtype_xmlid=subtype_xmlid,
            subtype_id=subtype_id,
            **kwargs,
        )

    def _amazon_log_origin_links(self):
        """Log on each delivery the note sale_stock posts when it creates one:
        "This transfer has been created from: <order>", in one batch."""
        pickings = self.filtered(lambda p: p.move_ids.sale_line_id)
        if not pickings:
            return self.env["mail.message"]
        Render = self.env["mail.render.mixin"]
        bodies = {}
        for picking in pickings:
            bodies.update(
                Render._render_template_qweb_view(
                    ORIGIN_LINK,
                    picking._name,
                    picking.ids,
                    add_context={
                        "self": picking,
                        "origin": picking.move_ids.sale_line_id.order_id,
                    },
                )
            )
        return pickings._message_log_batch(bodies=bodies)

    # --- Amazon ship-by --------------------------------------------------------

    @api.model
    def _amazon_to_ship_domain(self):
        """Open deliveries of merchant-fulfilled Amazon orders (FBA ones are done
        at import and keep Odoo's own deadline)."""
        return [
            ("amazon_account_id", "!=", False),
            ("sale_id.amazon_fulfilled_by", "=", "MERCHANT"),
            ("picking_type_code", "=", "outgoing"),
            ("state", "in", ("confirmed", "waiting", "assigned")),
            ("date_deadline", "!=", False),
        ]

    @api.model
    def _amazon_due_bounds(self):
        """(now, start of tomorrow, start of the day after) as naive UTC, the
        days being those of the user's time zone."""
        now = fields.Datetime.now()
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        today = pytz.utc.localize(now).astimezone(tz).date()

        def start(day):
            local = tz.localize(datetime.combine(day, time.min))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        return (
            now,
            start(today + timedelta(days=1)),
            start(today + timedelta(days=2)),
        )

    @api.depends("date_deadline", "state")
    @api.depends_context("tz", "uid")
    def _compute_amazon_ship_due(self):
        to_ship = self.filtered_domain(self._amazon_to_ship_domain())
        (self - to_ship).amazon_ship_due = False
        if not to_ship:
            return
        now, tomorrow, after = self._amazon_due_bounds()
        for picking in to_ship:
            deadline = picking.date_deadline
            if deadline < now:
                picking.amazon_ship_due = "late"
            elif deadline < tomorrow:
                picking.amazon_ship_due = "today"
            elif deadline < after:
                picking.amazon_ship_due = "tomorrow"
            else:
                picking.amazon_ship_due = "later"

    def _search_amazon_ship_due(self, operator, value):
        if operator not in ("=", "in"):
            raise UserError(
                self.env._("Amazon ship-by due can only be searched by value.")
            )
        values = [value] if operator == "=" else value
        now, tomorrow, after = self._amazon_due_bounds()
        ranges = {
            "late": [("date_deadline", "<", now)],
            "today": [("date_deadline", ">=", now), ("date_deadline", "<", tomorrow)],
            "tomorrow": [
                ("date_deadline", ">=", tomorrow),
                ("date_deadline", "<", after),
            ],
            "later": [("date_deadline", ">=", after)],
        }
        return expression.AND(
            [
                self._amazon_to_ship_domain(),
                expression.OR(
                    [ranges[v] for v in values if v in ranges] or [[(0, "=", 1)]]
                ),
            ]
        )

    @api.model
    def _cron_amazon_ship_reminders(self):
        """One activity when an open Amazon delivery nears its ship-by (the
        channel's hours before it), one when it is late: each once."""
        # FBA-only channels have no delivery of their own to ship.
        accounts = self.env["amazon.account"].search([("fba_mode", "!=", "afn")])
        if not accounts:
            return
        now = fields.Datetime.now()
        near = expression.OR(
            [
                [
                    ("amazon_account_id", "=", account.id),
                    (
                        "date_deadline",
                        "<",
                        now + timedelta(hours=max(account.ship_reminder_hours, 0)),
                    ),
                ]
                for account in accounts
            ]
        )
        pickings = self.search(
            expression.AND(
                [
                    self._amazon_to_ship_domain(),
                    [("amazon_ship_alert", "in", (False, "soon"))],
                    near,
                ]
            )
        )
        late = pickings.filtered(lambda p: p.date_deadline <= now)
        soon = (pickings - late).filtered(lambda p: not p.amazon_ship_alert)
        activities = [p._amazon_ship_activity_values("late") for p in late]
        activities += [p._amazon_ship_activity_values("soon") for p in soon]
        if activities:
            self.env["mail.activity"].sudo().create(activities)
        late.amazon_ship_alert = "late"
        soon.amazon_ship_alert = "soon"

    def _amazon_ship_responsible(self):
        """The channel's responsible, else the warehouse's, else the admin."""
        self.ensure_one()
        return (
            self.amazon_account_id.user_id
            or self.picking_type_id.warehouse_id.amazon_user_id
            or self.env.ref("base.user_admin", raise_if_not_found=False)
            or self.env.user
        )

    def _amazon_ship_activity_values(self, stage):
        self.ensure_one()
        user = self._amazon_ship_responsible()
        env = self.with_user(user).with_context(lang=user.lang, tz=user.tz).env
        ship_by = format_datetime(env, self.date_deadline, tz=user.tz or "UTC")
        values = {
            "order": self.amazon_order_ref,
            "picking": self.name,
            "date": ship_by,
        }
        if stage == "late":
            activity_type = "mail.mail_activity_data_warning"
            summary = env._("Amazon order %(order)s is late", **values)
            note = env._(
                "Delivery %(picking)s of Amazon order %(order)s was due to ship by "
                "%(date)s: ship it now, Amazon counts it late.",
                **values,
            )
        else:
            activity_type = "mail.mail_activity_data_todo"
            summary = env._("Ship Amazon order %(order)s by %(date)s", **values)
            note = env._(
                "Delivery %(picking)s of Amazon order %(order)s must ship by %(date)s.",
                **values,
            )
        return {
            "res_model_id": self.env["ir.model"]._get_id(self._name),
            "res_id": self.id,
            "activity_type_id": self.env.ref(activity_type).id,
            "summary": summary,
            # The note is HTML: the order reference comes from Amazon.
            "note": escape(note),
            "user_id": user.id,
            "date_deadline": fields.Date.context_today(
                self.with_context(tz=user.tz or "UTC"), self.date_deadline
            ),
        }
