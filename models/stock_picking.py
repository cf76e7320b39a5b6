# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import models

ORIGIN_LINK = "mail.message_origin_link"


class StockPicking(models.Model):
    _inherit = "stock.picking"

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
