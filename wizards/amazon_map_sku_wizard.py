# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

# Other quotations waiting for the SKUs just mapped are completed too, up to
# this many: each is one getOrder call, and the user waits for them.
RETRY_OTHERS_LIMIT = 20


class AmazonMapSkuWizard(models.TransientModel):
    _name = "amazon.map.sku.wizard"
    _description = "Map the Amazon SKUs of an Order"

    order_id = fields.Many2one(
        "sale.order", string="Order", required=True, readonly=True
    )
    account_id = fields.Many2one(related="order_id.amazon_account_id")
    company_id = fields.Many2one(related="order_id.company_id")
    line_ids = fields.One2many(
        "amazon.map.sku.wizard.line", "wizard_id", string="SKUs to Map"
    )
    other_order_count = fields.Integer(
        string="Other Orders Waiting",
        compute="_compute_other_order_count",
        help="Other quotations of the channel waiting for these SKUs: they are "
        "completed too.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        order = self.env["sale.order"].browse(values.get("order_id"))
        if "line_ids" not in fields_list or not order:
            return values
        items = order._amazon_unmapped_items()
        existing = self.env["amazon.sku.map"].search(
            [
                ("account_id", "=", order.amazon_account_id.id),
                ("sku", "in", [sku for sku, _asin in items]),
            ]
        )
        products = {sku_map.sku: sku_map.product_id for sku_map in existing}
        values["line_ids"] = [
            Command.create(
                {
                    "sku": sku,
                    "asin": asin,
                    "product_id": products.get(sku, self.env["product.product"]).id,
                }
            )
            for sku, asin in items
        ]
        return values

    @api.depends("order_id", "line_ids.sku")
    def _compute_other_order_count(self):
        for wizard in self:
            wizard.other_order_count = len(wizard._other_waiting_orders())

    def _other_waiting_orders(self):
        """The channel's other quotations waiting for one of these SKUs."""
        self.ensure_one()
        skus = set(self.line_ids.mapped("sku"))
        if not skus or not self.account_id:
            return self.env["sale.order"]
        # A plain ilike per SKU would match parts of other SKUs: the exact
        # lines are compared below, on the few quotations still waiting.
        waiting = self.env["sale.order"].search(
            [
                ("amazon_account_id", "=", self.account_id.id),
                ("state", "=", "draft"),
                ("amazon_unmapped_skus", "!=", False),
                ("id", "!=", self.order_id._origin.id),
            ],
            order="amazon_purchase_date, id",
        )
        return waiting.filtered(
            lambda order: (
                skus & {sku.strip() for sku in order.amazon_unmapped_skus.splitlines()}
            )
        )

    def action_map_and_retry(self):
        """Save the SKU mappings, then complete this order (and the others
        waiting for these SKUs) in place and show it."""
        self.ensure_one()
        order = self.order_id
        if not self.line_ids:
            raise UserError(
                self.env._(
                    "Order %(order)s has no Amazon SKU to map.", order=order.name
                )
            )
        chosen = {line.sku: line.product_id for line in self.line_ids}
        SkuMap = self.env["amazon.sku.map"]
        existing = SkuMap.search(
            [("account_id", "=", self.account_id.id), ("sku", "in", list(chosen))]
        )
        # A SKU mapped meanwhile (on the channel, another tab) follows the
        # product chosen here: the unique SKU per channel stays.
        for sku_map in existing:
            if sku_map.product_id != chosen[sku_map.sku]:
                sku_map.product_id = chosen[sku_map.sku]
        mapped = set(existing.mapped("sku"))
        SkuMap.create(
            [
                {"account_id": self.account_id.id, "sku": sku, "product_id": p.id}
                for sku, p in chosen.items()
                if sku not in mapped
            ]
        )
        others = self._other_waiting_orders()
        result = (order | others[:RETRY_OTHERS_LIMIT])._amazon_retry_isolated()
        messages = []
        if order in result["completed"]:
            messages.append(
                self.env._("Order %(order)s is complete.", order=order.name)
            )
        elif order in result["failed"]:
            messages.append(
                self.env._(
                    "The SKUs are mapped but order %(order)s could not be "
                    "completed: %(reason)s",
                    order=order.name,
                    reason="; ".join(result["errors"]),
                )
            )
        else:
            messages.append(
                self.env._(
                    "The SKUs are mapped; order %(order)s still waits for: %(skus)s.",
                    order=order.name,
                    skus=", ".join(order.amazon_unmapped_skus.splitlines()),
                )
            )
        others_done = len(result["completed"] - order)
        if others_done:
            messages.append(
                self.env._(
                    "%(count)s other order(s) waiting for these SKUs completed too.",
                    count=others_done,
                )
            )
        left = len(others) - others_done
        if left:
            messages.append(
                self.env._(
                    "%(count)s other order(s) still wait: retry them from the "
                    "Amazon Orders list (filter Waiting for SKU Mapping).",
                    count=left,
                )
            )
        complete = order in result["completed"]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Map Amazon SKUs"),
                "type": "success" if complete and not left else "warning",
                "message": " ".join(messages),
                "sticky": not complete,
                # Closing the dialog reloads the order it was opened from.
                "next": {"type": "ir.actions.act_window_close"},
            },
        }


class AmazonMapSkuWizardLine(models.TransientModel):
    _name = "amazon.map.sku.wizard.line"
    _description = "Amazon SKU to Map"

    wizard_id = fields.Many2one(
        "amazon.map.sku.wizard", required=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="wizard_id.company_id")
    sku = fields.Char(string="Amazon SKU", required=True, readonly=True)
    asin = fields.Char(string="ASIN", readonly=True)
    product_id = fields.Many2one(
        "product.product",
        string="Product",
        required=True,
        check_company=True,
        domain="[('type', '!=', 'combo')]",
    )
