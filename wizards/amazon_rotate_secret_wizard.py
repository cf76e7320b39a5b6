# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from ..amazon import AmazonError, invalidate_access_tokens


class AmazonRotateSecretWizard(models.TransientModel):
    _name = "amazon.rotate.secret.wizard"
    _description = "Rotate the LWA Client Secret of an Amazon Channel"

    account_id = fields.Many2one("amazon.account", required=True, ondelete="cascade")
    method = fields.Selection(
        selection=[
            ("console", "I rotated it in the Developer Console"),
            ("api", "Ask Amazon to rotate it (Application Management API)"),
        ],
        required=True,
        default="console",
    )
    # Amazon was asked already (here or in an earlier wizard): what is left is
    # entering the new secret, not asking again.
    rotation_requested = fields.Boolean(
        compute="_compute_rotation_requested", store=True
    )
    rotation_deadline = fields.Date(
        related="account_id.client_secret_rotation_deadline", string="Enter It By"
    )
    new_client_secret = fields.Char(
        string="New Client Secret",
        groups="base.group_system",
        help="The new LWA client secret (amzn1.oa2-cs.…), from the Developer "
        "Console or from the notification Amazon sent to the application's SQS "
        "queue.",
    )

    @api.depends("account_id.client_secret_rotation_requested_on")
    def _compute_rotation_requested(self):
        for wizard in self:
            wizard.rotation_requested = bool(
                wizard.account_id.client_secret_rotation_requested_on
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if "method" not in vals and vals.get("account_id"):
                account = self.env["amazon.account"].browse(vals["account_id"])
                if account.client_secret_rotation_requested_on:
                    vals["method"] = "api"
        return super().create(vals_list)

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Rotate Client Secret"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_request_rotation(self):
        """Have Amazon issue a new secret; it arrives in the app's SQS queue."""
        self.ensure_one()
        account = self.account_id
        try:
            account._get_amazon_client().rotate_client_secret()
        except AmazonError as error:
            raise UserError(
                self.env._(
                    "Amazon did not rotate the client secret: %(reason)s",
                    reason=account._amazon_error_message(error),
                )
            ) from None
        today = fields.Date.context_today(self)
        account.sudo().client_secret_rotation_requested_on = today
        deadline = account.client_secret_rotation_deadline
        account.sudo().activity_schedule(
            "sale_amazon_spapi.mail_activity_type_amazon_client_secret",
            date_deadline=deadline,
            summary=self.env._(
                "Enter the new Amazon client secret by %(date)s",
                date=format_date(self.env, deadline),
            ),
            user_id=account.user_id.id or self.env.uid,
        )
        account.message_post(
            body=self.env._(
                "%(user)s asked Amazon to rotate the LWA client secret. Amazon "
                "sends the new secret to the application's SQS queue; the current "
                "secret keeps working for 7 days.",
                user=self.env.user.name,
            )
        )
        return self._reopen()

    def action_validate(self):
        """Replace the secret, once Login with Amazon has accepted the new one."""
        self.ensure_one()
        account = self.account_id
        new_secret = (self.new_client_secret or "").strip()
        if not new_secret:
            raise UserError(self.env._("Enter the new client secret."))
        if new_secret == account.sudo().lwa_client_secret:
            raise UserError(
                self.env._(
                    "This is the client secret the channel already uses. Paste the "
                    "new one."
                )
            )
        old_config = account._get_amazon_config()
        authorised = bool(old_config.refresh_token)
        client = account._get_amazon_client(client_secret=new_secret)
        try:
            if authorised:
                # A refresh token grant proves more than the secret alone: that
                # it works with the seller authorisation the imports rely on.
                client.check_credentials()
            else:
                # No seller yet: a grantless grant still proves that Login with
                # Amazon accepts the secret, so a channel can be rotated before
                # it is authorised.
                client.check_client_credentials()
        except AmazonError as error:
            raise UserError(
                self.env._(
                    "The new client secret was not accepted, the current one is "
                    "kept: %(reason)s",
                    reason=account._amazon_error_message(error),
                )
            ) from None
        account.sudo().write(
            {
                "lwa_client_secret": new_secret,
                "client_secret_rotated_on": fields.Date.today(),
            }
        )
        # Tokens obtained with the old secret must not outlive its replacement.
        invalidate_access_tokens(old_config)
        account.message_post(
            body=self.env._(
                "%(user)s replaced the LWA client secret after Amazon accepted the "
                "new one. It expires on %(date)s.",
                user=self.env.user.name,
                date=format_date(self.env, account.client_secret_expires_on),
            )
        )
        if not authorised:
            # A connection test needs a seller authorisation: it would only
            # report a failure that says nothing about the new secret.
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "title": self.env._("Client secret replaced"),
                    "message": self.env._(
                        "Amazon accepted the new client secret. Authorise the "
                        "seller account to connect the channel."
                    ),
                    "type": "success",
                    "next": {"type": "ir.actions.act_window_close"},
                },
            }
        return self.env["amazon.connection.test.wizard"]._from_account(account)
