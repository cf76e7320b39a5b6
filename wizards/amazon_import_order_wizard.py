# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import re

from odoo import fields, models
from odoo.exceptions import UserError


class AmazonImportOrderWizard(models.TransientModel):
    _name = "amazon.import.order.wizard"
    _description = "Import Amazon Orders by ID"

    account_id = fields.Many2one("amazon.account", string="Channel", required=True)
    order_refs = fields.Text(
        string="Amazon Order IDs",
        required=True,
        help="One or more Amazon order IDs (e.g. 205-1234567-1234567), separated by "
        "commas, spaces or new lines.",
    )

    def action_import(self):
        self.ensure_one()
        refs = [ref for ref in re.split(r"[\s,;]+", self.order_refs or "") if ref]
        invalid = [ref for ref in refs if not re.fullmatch(r"\d{3}-\d{7}-\d{7}", ref)]
        if invalid or not refs:
            raise UserError(
                self.env._(
                    "Amazon order IDs look like 205-1234567-1234567: %(refs)s",
                    refs=", ".join(invalid) or "-",
                )
            )
        self.account_id.check_access("read")
        self.account_id.sudo()._import_order_refs(refs)
        orders = self.env["sale.order"].search(
            [
                ("amazon_account_id", "=", self.account_id.id),
                ("amazon_order_ref", "in", refs),
            ]
        )
        if not orders:
            if self.env["amazon.import.log"].has_access("read"):
                return self.account_id.action_view_import_logs()
            # The log holds buyer data, for Amazon administrators only.
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "title": self.env._("Amazon import"),
                    "message": self.env._(
                        "The order(s) could not be imported. An Amazon administrator "
                        "finds the reason in the channel's import log."
                    ),
                    "type": "warning",
                    "sticky": True,
                },
            }
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [("id", "in", orders.ids)]
        if len(orders) == 1:
            action.update(view_mode="form", views=[(False, "form")], res_id=orders.id)
        return action
