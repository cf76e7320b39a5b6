# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class AmazonStockFeed(models.Model):
    """One JSON_LISTINGS_FEED of merchant quantities, from createFeed to its report.

    Amazon processes feeds asynchronously (minutes): the row keeps what was
    sent until a later run reads the processing report, so a crash or a
    restart between the two loses nothing.
    """

    _name = "amazon.stock.feed"
    _description = "Amazon Stock Feed"
    _order = "id desc"
    _rec_name = "feed_ref"

    account_id = fields.Many2one(
        "amazon.account",
        string="Channel",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    feed_ref = fields.Char(string="Amazon Feed ID", readonly=True, index=True)
    document_ref = fields.Char(string="Feed Document ID", readonly=True)
    state = fields.Selection(
        selection=[
            ("sent", "Processing at Amazon"),
            ("done", "Done"),
            ("error", "Failed"),
        ],
        default="sent",
        required=True,
        readonly=True,
        index=True,
    )
    # [[sku, quantity], ...] in message order: messageId n is line n - 1.
    lines = fields.Json(readonly=True)
    sku_count = fields.Integer(string="SKUs", readonly=True)
    error_count = fields.Integer(string="Refused SKUs", readonly=True)
    message = fields.Text(readonly=True)

    def _skus_by_message_id(self):
        self.ensure_one()
        return {n: sku for n, (sku, _qty) in enumerate(self.lines or [], start=1)}
