# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import api, fields, models


class AmazonSkuMap(models.Model):
    _name = "amazon.sku.map"
    _description = "Amazon SKU Mapping"
    _check_company_auto = True
    _order = "account_id, sku"
    _rec_name = "sku"

    account_id = fields.Many2one(
        "amazon.account",
        string="Channel",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    sku = fields.Char(string="Amazon SKU", required=True)
    product_id = fields.Many2one(
        "product.product",
        required=True,
        check_company=True,
        domain="[('type', '!=', 'combo')]",
    )
    # === Stock sync (the binding of the offer: what Amazon was told) === #
    fulfillment_channel = fields.Selection(
        selection=[("merchant", "Merchant"), ("amazon", "Amazon (FBA)")],
        string="Fulfilled By",
        default="merchant",
        required=True,
        help="Amazon fulfils FBA offers from its own stock: they never receive a "
        "quantity from Odoo.",
    )
    sync_stock = fields.Boolean(
        string="Send Quantity",
        default=True,
        help="Send this merchant-fulfilled offer's free quantity to Amazon.",
    )
    stock_changed = fields.Boolean(
        string="Quantity to Send",
        default=True,
        index=True,
        copy=False,
        help="A stock move of the product was done since the last sent quantity.",
    )
    stock_state = fields.Selection(
        selection=[
            ("sent", "Sent, not processed yet"),
            ("done", "Accepted"),
            ("error", "Refused by Amazon"),
        ],
        string="Quantity Status",
        copy=False,
        readonly=True,
    )
    last_quantity_sent = fields.Integer(copy=False, readonly=True)
    last_sent_on = fields.Datetime(string="Last Sent On", copy=False, readonly=True)
    stock_error = fields.Text(string="Amazon's Message", copy=False, readonly=True)
    fba_fulfillable = fields.Integer(
        string="FBA Fulfillable", copy=False, readonly=True
    )
    fba_reserved = fields.Integer(string="FBA Reserved", copy=False, readonly=True)
    fba_inbound = fields.Integer(string="FBA Inbound", copy=False, readonly=True)
    fba_synced_on = fields.Datetime(
        string="FBA Stock Read On", copy=False, readonly=True
    )

    _sql_constraints = [
        (
            "sku_unique",
            "UNIQUE(account_id, sku)",
            "An Amazon SKU is mapped once per channel.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("sku"):
                vals["sku"] = vals["sku"].strip()
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("sku"):
            vals["sku"] = vals["sku"].strip()
        return super().write(vals)
