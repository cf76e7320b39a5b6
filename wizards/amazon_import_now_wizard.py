# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime

from ..models.amazon_account_import import IMPORT_MAX_LOOKBACK_DAYS


class AmazonImportNowWizard(models.TransientModel):
    """The first "Import Orders Now" of a channel: which period it imports."""

    _name = "amazon.import.now.wizard"
    _description = "Import Amazon Orders Now"

    account_id = fields.Many2one(
        "amazon.account", string="Channel", required=True, readonly=True
    )
    import_start = fields.Datetime(
        string="Import Orders Since",
        compute="_compute_import_start",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        help="Orders created or updated at Amazon since this moment are imported. "
        "Move it back to import older orders.",
    )
    period_text = fields.Char(compute="_compute_period_text")

    @api.depends("account_id")
    def _compute_import_start(self):
        for wizard in self:
            # The start reveals the channel's import cursor: not for those who
            # may not read the channel (another company's, say). Odoo
            # precomputes as superuser, hence the user's own environment.
            wizard.account_id._origin.with_user(self.env.uid).check_access("read")
            wizard.import_start = (
                wizard.account_id and wizard.account_id._get_import_start()
            )

    @api.depends("import_start")
    def _compute_period_text(self):
        now = fields.Datetime.now()
        for wizard in self:
            if not wizard.import_start:
                wizard.period_text = False
                continue
            days = round((now - wizard.import_start).total_seconds() / 86400)
            wizard.period_text = self.env._(
                "Orders created or updated since %(date)s (the last %(days)s days) "
                "are imported.",
                date=format_datetime(self.env, wizard.import_start),
                days=days,
            )

    def action_import(self):
        self.ensure_one()
        if self.account_id.last_import_run:
            raise UserError(
                self.env._(
                    "Channel %(channel)s imported already: its imports continue "
                    "from where the last one stopped. Use Import Orders Now.",
                    channel=self.account_id.name,
                )
            )
        now = fields.Datetime.now()
        oldest = now - timedelta(days=IMPORT_MAX_LOOKBACK_DAYS)
        if self.import_start > now:
            raise UserError(
                self.env._("Choose a moment in the past to import orders from.")
            )
        # A minute's grace: the user may keep the limit the message suggests.
        if self.import_start < oldest - timedelta(minutes=1):
            raise UserError(
                self.env._(
                    "An import reaches at most %(days)s days back (since %(date)s): "
                    "a longer history would take hours of Amazon searches.",
                    days=IMPORT_MAX_LOOKBACK_DAYS,
                    date=format_datetime(self.env, oldest),
                )
            )
        action = self.account_id.with_context(
            amazon_import_start=self.import_start
        ).action_import_orders()
        # The notification closes the dialog; the channel form then reloads.
        action["params"]["next"] = {"type": "ir.actions.act_window_close"}
        return action
