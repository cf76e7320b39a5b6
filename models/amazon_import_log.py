# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class AmazonImportLog(models.Model):
    _name = "amazon.import.log"
    _description = "Amazon Import Log"
    _order = "create_date desc, id desc"
    _rec_name = "amazon_order_ref"

    account_id = fields.Many2one(
        "amazon.account",
        string="Channel",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    amazon_order_ref = fields.Char(string="Amazon Order ID", index=True)
    amazon_sku = fields.Char(string="Amazon SKU", index="btree_not_null")
    message = fields.Text(required=True)
    payload = fields.Text(string="Raw Payload", help="The order as Amazon sent it.")
    request_id = fields.Char(string="Amazon Request ID")
    state = fields.Selection(
        selection=[("error", "To Retry"), ("done", "Resolved")],
        default="error",
        required=True,
    )
    sale_order_id = fields.Many2one("sale.order", ondelete="set null")
    operation = fields.Selection(
        selection=[("import", "Order Import"), ("shipment", "Shipment Confirmation")],
        default="import",
        required=True,
    )
    amazon_shipment_id = fields.Many2one(
        "amazon.shipment", string="Shipment Confirmation", ondelete="set null"
    )

    def action_retry(self):
        """Import the logged orders again, fetched afresh from Amazon; queue
        the logged shipment confirmations again."""
        shipment_logs = self.filtered(lambda log: log.operation == "shipment")
        shipment_logs.amazon_shipment_id.sudo()._requeue()
        order_logs = (self - shipment_logs).filtered("amazon_order_ref")
        # A channel that cannot import does not stop the others'.
        failures = self.env["sale.order"]._amazon_retry_refs(
            {
                account: logs.mapped("amazon_order_ref")
                for account, logs in order_logs.grouped("account_id").items()
            }
        )
        if not failures:
            return True
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Retry Amazon Import"),
                "type": "danger",
                "sticky": True,
                "message": " ".join(
                    self.env._(
                        "%(channel)s: %(reason)s", channel=account.name, reason=reason
                    )
                    for account, reason in failures.items()
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_mark_done(self):
        self.state = "done"
