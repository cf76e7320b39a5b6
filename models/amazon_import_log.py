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
        for account, logs in (
            (self - shipment_logs)
            .filtered("amazon_order_ref")
            .grouped("account_id")
            .items()
        ):
            account.sudo()._import_order_refs(logs.mapped("amazon_order_ref"))
        return True

    def action_mark_done(self):
        self.state = "done"
