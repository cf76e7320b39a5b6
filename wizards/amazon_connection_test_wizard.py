# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class AmazonConnectionTestWizard(models.TransientModel):
    _name = "amazon.connection.test.wizard"
    _description = "Amazon Connection Test"

    account_id = fields.Many2one("amazon.account", required=True, ondelete="cascade")
    success = fields.Boolean(readonly=True)
    message = fields.Text(readonly=True)
    participation_summary = fields.Text(string="Seller's Marketplaces", readonly=True)
    marketplace_ids = fields.Many2many(
        "amazon.marketplace",
        string="Marketplaces Found",
        readonly=True,
        help="Marketplaces of the channel's region the seller participates in.",
    )
    other_region_summary = fields.Char(readonly=True)

    def _from_account(self, account):
        """Test ``account``'s connection and return the action showing the result."""
        participations, error = account._amazon_test_connection()
        return self._from_result(account, participations, error)._action_open()

    def _from_result(self, account, participations, error):
        if error:
            return self.create(
                {"account_id": account.id, "success": False, "message": error}
            )
        ids = [
            (item.get("marketplace") or {}).get("id")
            for item in participations
            if (item.get("participation") or {}).get("isParticipating", True)
        ]
        known = (
            self.env["amazon.marketplace"]
            .with_context(active_test=False)
            .search([("marketplace_id", "in", [i for i in ids if i])])
        )
        lines = []
        for item in participations:
            marketplace = item.get("marketplace") or {}
            participating = (item.get("participation") or {}).get(
                "isParticipating", True
            )
            name = marketplace.get("name") or marketplace.get("id") or "?"
            line = f"{name} ({marketplace.get('id') or '?'})"
            if item.get("storeName"):
                line += f" – {item['storeName']}"
            if not participating:
                line += " – " + self.env._("not participating")
            lines.append(line)
        in_region = known.filtered(lambda m: m.region == account.region)
        other = known - in_region
        return self.create(
            {
                "account_id": account.id,
                "success": True,
                "message": self.env._(
                    "Connected: Amazon issued an access token and lists %(count)s "
                    "marketplace(s) for this seller.",
                    count=len(participations),
                ),
                "participation_summary": "\n".join(lines),
                "marketplace_ids": [fields.Command.set(in_region.ids)],
                "other_region_summary": other
                and self.env._(
                    "Other regions (need another channel): %(names)s",
                    names=", ".join(other.mapped("name")),
                ),
            }
        )

    def _action_open(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Amazon Connection Test"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_set_marketplaces(self):
        """Make the marketplaces found the channel's marketplaces."""
        self.ensure_one()
        self.account_id.marketplace_ids = self.marketplace_ids
        return {"type": "ir.actions.act_window_close"}
