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
