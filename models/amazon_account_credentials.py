# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.
"""The channel's credentials: their dates and status, the reminders, the
Seller Central authorisation (signed state, code exchange) and the connection
test. Split from amazon_account.py by concern; the same model."""

import re
import secrets
import time
from datetime import timedelta
from urllib.parse import urlencode

from markupsafe import escape

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import consteq, format_date
from odoo.tools.misc import hmac

from .. import const
from ..amazon import AmazonError, invalidate_access_tokens, redact


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    # === CREDENTIALS LIFECYCLE === #

    credentials_status = fields.Selection(
        selection=[
            ("missing", "Not authorised"),
            ("ok", "OK"),
            ("expiring", "Expiring soon"),
            ("expired", "Expired"),
        ],
        compute="_compute_credentials_status",
        search="_search_credentials_status",
        help="Whether the refresh token and the client secret are still valid. "
        "Reminders start 30 days before a credential expires.",
    )
    credentials_status_message = fields.Char(compute="_compute_credentials_status")
    connection_state = fields.Selection(
        selection=[
            ("untested", "Not tested"),
            ("ok", "Connected"),
            ("failed", "Failed"),
        ],
        default="untested",
        required=True,
        copy=False,
        readonly=True,
    )
    connection_checked_on = fields.Datetime(
        string="Connection Checked On", copy=False, readonly=True
    )
    connection_message = fields.Char(copy=False, readonly=True)
    # Nonce of the consent in progress: the signed state must carry it, and it is
    # cleared by the callback so that a state works only once.
    lwa_oauth_nonce = fields.Char(groups="base.group_system", copy=False)
    # Reminders already sent, as "credential:deadline:stage" keys; a new deadline
    # (renewal) gives new keys, so nothing is sent twice for the same deadline.
    credentials_reminders_sent = fields.Char(copy=False, readonly=True)

    status_banner = fields.Selection(
        selection=[
            ("missing", "Not authorised"),
            ("expired", "Credentials expired"),
            ("failed", "Connection failed"),
            ("untested", "Never tested"),
            ("rotation", "Rotation pending"),
            ("expiring", "Credentials expiring"),
            ("import", "Import failing"),
        ],
        compute="_compute_status_banner",
        help="What the channel needs first; the form shows it with the button that "
        "fixes it.",
    )

    @api.depends(
        "lwa_refresh_token",
        "credentials_status",
        "connection_state",
        "client_secret_rotation_requested_on",
        "import_incident",
    )
    def _compute_status_banner(self):
        for account in self:
            # One thing at a time, the one that blocks the others first. A
            # channel never authorised may have an expiring secret already.
            if not account.sudo().lwa_refresh_token:
                banner = "missing"
            elif account.credentials_status == "expired":
                banner = "expired"
            elif account.connection_state in ("failed", "untested"):
                banner = account.connection_state
            elif account.client_secret_rotation_requested_on:
                banner = "rotation"
            elif account.credentials_status == "expiring":
                banner = "expiring"
            elif account.import_incident:
                banner = "import"
            else:
                banner = False
            account.status_banner = banner

    @api.depends(
        "refresh_token_expires_on",
        "client_secret_expires_on",
        "connection_state",
        "lwa_refresh_token",
    )
    def _compute_credentials_status(self):
        today = fields.Date.today()
        for account in self:
            status, message = account._get_credentials_status(today)
            account.credentials_status = status
            account.credentials_status_message = message

    def _search_credentials_status(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(self.env._("Unsupported search on the credentials status."))
        values = {value} if isinstance(value, str) else set(value or ())
        today = fields.Date.today()
        warn_until = today + timedelta(days=max(const.CREDENTIAL_REMINDER_DAYS))
        overlap = timedelta(days=const.CLIENT_SECRET_OVERLAP_DAYS)
        # Same rules as _get_credentials_status(), which depends on today and so
        # cannot be stored. Sudo: the refresh token is for administrators only.
        accounts = self.sudo().with_context(active_test=False)
        expired = set(
            accounts.search(
                [
                    "|",
                    ("refresh_token_expires_on", "<=", today),
                    ("client_secret_expires_on", "<=", today - overlap),
                ]
            ).ids
        )
        expiring = (
            set(
                accounts.search(
                    [
                        "|",
                        ("refresh_token_expires_on", "<=", warn_until),
                        ("client_secret_expires_on", "<=", warn_until),
                    ]
                ).ids
            )
            - expired
        )
        missing = (
            set(accounts.search([("lwa_refresh_token", "=", False)]).ids)
            - expired
            - expiring
        )
        groups = {"expired": expired, "expiring": expiring, "missing": missing}
        if "ok" in values:
            # "ok" is whatever has none of the other statuses.
            excluded = set().union(
                *(ids for status, ids in groups.items() if status not in values)
            )
            domain = [("id", "not in", list(excluded))]
        else:
            matching = set().union(*(groups.get(v, set()) for v in values))
            domain = [("id", "in", list(matching))]
        return domain if operator in ("=", "in") else ["!", *domain]

    def _get_credential_deadlines(self):
        """[(credential, expires_on, blocked_on)] of the dated credentials.

        A client secret stays accepted by Amazon for an overlap after its expiry
        (when it was rotated), so a channel is blocked only once that has passed.
        """
        self.ensure_one()
        deadlines = []
        if self.refresh_token_expires_on:
            expires_on = self.refresh_token_expires_on
            deadlines.append(("refresh_token", expires_on, expires_on))
        if self.client_secret_expires_on:
            expires_on = self.client_secret_expires_on
            overlap = timedelta(days=const.CLIENT_SECRET_OVERLAP_DAYS)
            deadlines.append(("client_secret", expires_on, expires_on + overlap))
        return deadlines

    def _credential_label(self, credential):
        return {
            "refresh_token": self.env._("seller authorisation (refresh token)"),
            "client_secret": self.env._("LWA client secret"),
        }[credential]

    def _credential_expired_text(self, credential, expires_on, blocked_on):
        if credential == "refresh_token":
            return self.env._(
                "The seller authorisation (refresh token) of channel %(channel)s "
                "expired on %(date)s. Use 'Authorise' on the channel to authorise "
                "it again.",
                channel=self.name,
                date=format_date(self.env, expires_on),
            )
        return self.env._(
            "The LWA client secret of channel %(channel)s expired on %(date)s and "
            "Amazon stopped accepting it on %(end)s. Rotate the secret in the "
            "Developer Console and enter the new one with 'Rotate Secret'.",
            channel=self.name,
            date=format_date(self.env, expires_on),
            end=format_date(self.env, blocked_on),
        )

    def _credential_expiring_text(self, credential, expires_on, blocked_on, today):
        if credential == "client_secret" and expires_on <= today:
            return self.env._(
                "The LWA client secret of channel %(channel)s expired on %(date)s; "
                "Amazon accepts it until %(end)s only. Rotate it now with 'Rotate "
                "Secret'.",
                channel=self.name,
                date=format_date(self.env, expires_on),
                end=format_date(self.env, blocked_on),
            )
        if credential == "refresh_token":
            return self.env._(
                "The seller authorisation (refresh token) of channel %(channel)s "
                "expires on %(date)s (in %(days)s days). Use 'Authorise' on the "
                "channel to renew it before then.",
                channel=self.name,
                date=format_date(self.env, expires_on),
                days=(expires_on - today).days,
            )
        return self.env._(
            "The LWA client secret of channel %(channel)s expires on %(date)s (in "
            "%(days)s days). Use 'Rotate Secret' on the channel to renew it before "
            "then.",
            channel=self.name,
            date=format_date(self.env, expires_on),
            days=(expires_on - today).days,
        )

    def _get_credentials_status(self, today):
        """(status, message) of the channel's credentials on ``today``."""
        self.ensure_one()
        warn = timedelta(days=max(const.CREDENTIAL_REMINDER_DAYS))
        expiring = []
        for credential, expires_on, blocked_on in self._get_credential_deadlines():
            if today >= blocked_on:
                text = self._credential_expired_text(credential, expires_on, blocked_on)
                return "expired", text
            if today >= expires_on - warn:
                expiring.append(
                    self._credential_expiring_text(
                        credential, expires_on, blocked_on, today
                    )
                )
        if expiring:
            return "expiring", " ".join(expiring)
        if not self.sudo().lwa_refresh_token:
            return "missing", self.env._(
                "The channel is not authorised yet: use 'Authorise'."
            )
        return "ok", False

    def _get_credentials_blocker(self):
        """Why no call to Amazon may be made for this channel (translated), or False.

        Only expired credentials block: a channel without dates (set up by hand)
        is not blocked, Amazon itself will say if a credential is no good.
        """
        self.ensure_one()
        today = fields.Date.today()
        for credential, expires_on, blocked_on in self._get_credential_deadlines():
            if today >= blocked_on:
                return self._credential_expired_text(credential, expires_on, blocked_on)
        return False

    def write(self, vals):
        vals = self._amazon_track_secret(vals)
        renewed = [
            credential
            for credential, date_field in const.CREDENTIAL_DATE_FIELDS.items()
            if date_field in vals
        ]
        if (
            not self.env.context.get("amazon_connection_checked")
            and "connection_state" not in vals
            and const.CONNECTION_FIELDS.intersection(vals)
        ):
            vals = dict(vals, connection_state="untested", connection_message=False)
        res = super().write(vals)
        if renewed:
            self._clear_credential_reminders(renewed)
        if {"import_interval", "enabled", "active"}.intersection(vals):
            self._sync_import_cron()
        return res

    def _clear_credential_reminders(self, credentials):
        """A renewed credential needs no reminder: drop its pending activities."""
        xmlids = [const.CREDENTIAL_ACTIVITY_TYPES[c] for c in credentials]
        self.sudo().activity_unlink(xmlids)
        for account in self.sudo():
            keys = [
                key
                for key in (account.credentials_reminders_sent or "").split()
                if key.split(":", 1)[0] not in credentials
            ]
            account.write({"credentials_reminders_sent": " ".join(keys) or False})

    # --- Reminders --- #

    @api.model
    def _cron_credentials_reminders(self):
        today = fields.Date.today()
        for account in self.search([("enabled", "=", True)]):
            account._send_credentials_reminders(today)

    def _send_credentials_reminders(self, today):
        """Remind of the credentials expiring soon or expired, once per stage.

        Stages are the reminder days (30, 7) and "expired"; a channel first seen
        inside a stage gets that stage's reminder only, not the earlier ones.
        """
        self.ensure_one()
        sent = set((self.credentials_reminders_sent or "").split())
        added = []
        for credential, expires_on, blocked_on in self._get_credential_deadlines():
            if today >= blocked_on:
                stage = "expired"
                text = self._credential_expired_text(credential, expires_on, blocked_on)
            else:
                days_left = (expires_on - today).days
                stage = next(
                    (
                        d
                        for d in sorted(const.CREDENTIAL_REMINDER_DAYS)
                        if days_left <= d
                    ),
                    None,
                )
                if stage is None:
                    continue
                text = self._credential_expiring_text(
                    credential, expires_on, blocked_on, today
                )
            key = f"{credential}:{expires_on.isoformat()}:{stage}"
            if key in sent:
                continue
            self._remind_credential(credential, expires_on, blocked_on, stage, text)
            added.append(key)
        if added:
            self.write(
                {"credentials_reminders_sent": " ".join(sorted(sent.union(added)))}
            )

    def _remind_credential(self, credential, expires_on, blocked_on, stage, text):
        activity_type = const.CREDENTIAL_ACTIVITY_TYPES[credential]
        # The latest reminder replaces the earlier one: one to-do per credential.
        self.activity_unlink([activity_type])
        if stage == "expired":
            summary = self.env._(
                "Amazon %(credential)s expired",
                credential=self._credential_label(credential),
            )
        else:
            summary = self.env._(
                "Amazon %(credential)s expires on %(date)s",
                credential=self._credential_label(credential),
                date=format_date(self.env, expires_on),
            )
        user = self.user_id or self.env.ref("base.user_admin", raise_if_not_found=False)
        self.activity_schedule(
            activity_type,
            date_deadline=fields.Date.today() if stage == "expired" else expires_on,
            summary=summary,
            # The note is HTML: a channel name must not become markup.
            note=escape(text),
            user_id=user.id if user else self.env.uid,
        )
        if self.email_errors_to:
            template = self.env.ref(
                "sale_amazon_spapi.mail_template_amazon_credentials_reminder"
            )
            template.with_context(
                amazon_reminder_subject=summary, amazon_reminder_text=text
            ).send_mail(self.id, email_layout_xmlid="mail.mail_notification_light")

    # --- Authorisation --- #

    def _get_amazon_redirect_uri(self):
        """Callback to register as OAuth redirect URI of the Amazon application."""
        self.ensure_one()
        return self.get_base_url().rstrip("/") + const.OAUTH_CALLBACK_ROUTE

    def _get_seller_central_url(self):
        """Seller Central of the channel's domain, or the administrator's override."""
        self.ensure_one()
        # sudo: only administrators see the hosts, but they apply to everyone.
        account = self.sudo()
        marketplace = (
            account.env["amazon.marketplace"]
            .with_context(active_test=False)
            .search([("code", "=", self.seller_central_domain)], limit=1)
        )
        return (
            account.seller_central_url_override
            or marketplace.seller_central_url
            or "https://sellercentral.amazon.com"
        ).rstrip("/")

    def _get_amazon_consent_url(self, state, draft=False):
        """Seller Central consent page of the channel's domain."""
        self.ensure_one()
        # sudo: only administrators see the application, but it applies to everyone.
        account = self.sudo()
        base = self._get_seller_central_url()
        params = {
            "application_id": account.application_id or "",
            "state": state,
            "redirect_uri": self._get_amazon_redirect_uri(),
        }
        if draft:
            # Amazon refuses a draft application without it (error MD1000).
            params["version"] = "beta"
        return f"{base.rstrip('/')}/apps/authorize/consent?{urlencode(params)}"

    def _amazon_oauth_state(self, timestamp=None):
        """A fresh signed state for the consent, bound to channel, user and time.

        Starting a new consent invalidates the previous state of the channel.
        """
        self.ensure_one()
        nonce = secrets.token_urlsafe(16)
        self.sudo().lwa_oauth_nonce = nonce
        timestamp = int(time.time() if timestamp is None else timestamp)
        payload = f"{self.id}.{self.env.uid}.{timestamp}.{nonce}"
        return f"{payload}.{self._amazon_oauth_signature(payload)}"

    def _amazon_oauth_signature(self, payload):
        return hmac(self.env(su=True), "sale_amazon_spapi.oauth_state", payload)

    @api.model
    def _amazon_consume_oauth_state(self, state):
        """Check a state coming back from Seller Central and use it up.

        :return: (channel, False) or (empty recordset, translated reason)
        """
        nothing = self.browse()
        if not self.env.user.has_group("base.group_system"):
            return nothing, self.env._(
                "Only an administrator (Settings rights) can authorise an Amazon "
                "channel."
            )
        invalid = self.env._(
            "This authorisation link is not valid: it was not issued by this "
            "database. Start the authorisation again from the channel."
        )
        parts = (state or "").split(".")
        if len(parts) != 5 or not all(p.isdigit() for p in parts[:3]):
            return nothing, invalid
        account_id, uid, timestamp, _nonce, signature = parts
        payload = state.rsplit(".", 1)[0]
        if not consteq(signature, self._amazon_oauth_signature(payload)):
            return nothing, invalid
        if int(uid) != self.env.uid:
            return nothing, self.env._(
                "This authorisation was started by another user. Start it again "
                "yourself from the channel."
            )
        age = time.time() - int(timestamp)
        if not 0 <= age <= const.OAUTH_STATE_TTL:
            return nothing, self.env._(
                "This authorisation link has expired (it is valid for %(minutes)s "
                "minutes). Start the authorisation again from the channel.",
                minutes=const.OAUTH_STATE_TTL // 60,
            )
        account = self.browse(int(account_id)).exists()
        nonce = account.sudo().lwa_oauth_nonce if account else None
        if not nonce or not consteq(parts[3], nonce):
            return nothing, self.env._(
                "This authorisation link was already used or replaced by a newer "
                "one. Start the authorisation again from the channel."
            )
        account.sudo().lwa_oauth_nonce = False
        return account, False

    @api.model
    def _amazon_consent_error_message(self, error, description=None):
        """Plain words for an error Seller Central reports to the callback."""
        raw = " ".join(filter(None, (error, description)))
        for code, explanation in self._amazon_consent_errors().items():
            if code in raw:
                return f"{code}: {explanation}"
        return self.env._(
            "Seller Central did not authorise the application (%(error)s).",
            error=redact(raw) or self.env._("no reason given"),
        )

    @api.model
    def _amazon_consent_errors(self):
        return {
            "MD1000": self.env._(
                "the application is still a draft. Tick 'Draft application' in "
                "the Authorise wizard (it adds version=beta to the consent link) "
                "and try again."
            ),
            "MD5101": self.env._(
                "the redirect URI is not one of the application's OAuth Redirect "
                "URIs. Register the redirect URI shown in the Authorise wizard in "
                "the Developer Console, exactly as shown."
            ),
            "MD5110": self.env._(
                "the redirect URI is not valid: Amazon accepts only https:// "
                "addresses without a fragment. Check this database's base URL."
            ),
            "MD9100": self.env._(
                "the application has no valid OAuth Login or Redirect URI. Fill "
                "them in the Developer Console and try again."
            ),
            "access_denied": self.env._(
                "the seller declined to authorise the application."
            ),
        }

    def _amazon_authorize_with_code(self, code, selling_partner_id=None):
        """Trade a consent code for a refresh token and store it.

        :raise UserError: with plain words when Amazon refuses the code
        """
        self.ensure_one()
        self.check_access("write")
        client = self._get_amazon_client(refresh_token=None)
        try:
            refresh_token = client.exchange_authorization_code(
                code, self._get_amazon_redirect_uri()
            )
        except AmazonError as error:
            if error.code in ("invalid_grant", "invalid_request"):
                raise UserError(
                    self.env._(
                        "Amazon refused the authorisation code: a code is valid "
                        "for 5 minutes and once only, and the redirect URI must be "
                        "the one registered for the application. Start the "
                        "authorisation again. Amazon said: %(detail)s",
                        detail=error.params.get("detail") or error.code,
                    )
                ) from None
            raise UserError(self._amazon_error_message(error)) from None
        if selling_partner_id and not re.match(
            const.SELLER_ID_PATTERN, selling_partner_id
        ):
            selling_partner_id = None
        self._amazon_save_refresh_token(
            refresh_token,
            seller_id=selling_partner_id,
            how=self.env._("through Seller Central"),
        )

    def _amazon_save_refresh_token(self, refresh_token, seller_id=None, how=""):
        self.ensure_one()
        old_config = self._get_amazon_config()
        vals = {
            "lwa_refresh_token": refresh_token,
            "refresh_token_authorized_on": fields.Date.today(),
            "lwa_oauth_nonce": False,
        }
        if seller_id:
            vals["seller_id"] = seller_id
        self.sudo().write(vals)
        invalidate_access_tokens(old_config)
        self.message_post(
            body=self.env._(
                "Seller account %(seller)s authorised %(how)s by %(user)s. The "
                "authorisation is valid until %(date)s.",
                seller=self.seller_id or "-",
                how=how,
                user=self.env.user.name,
                date=format_date(self.env, self.refresh_token_expires_on),
            )
        )
        self._amazon_test_connection()

    # --- Connection test --- #

    def _amazon_test_connection(self):
        """Refresh an access token and list the seller's marketplaces.

        The outcome is recorded on the channel. Never raises for Amazon's refusals.
        :return: (participations, False) or (None, translated error)
        """
        self.ensure_one()
        try:
            client = self._get_amazon_client()
            client.check_credentials()
            participations = client.get_marketplace_participations()
        except AmazonError as error:
            message = self._amazon_error_message(error)
            self.sudo().with_context(amazon_connection_checked=True).write(
                {
                    "connection_state": "failed",
                    "connection_checked_on": fields.Datetime.now(),
                    "connection_message": message,
                }
            )
            return None, message
        self.sudo().with_context(amazon_connection_checked=True).write(
            {
                "connection_state": "ok",
                "connection_checked_on": fields.Datetime.now(),
                "connection_message": False,
            }
        )
        return participations, False

    def action_test_connection(self):
        self.ensure_one()
        self.check_access("write")
        participations, error = self._amazon_test_connection()
        wizard = self.env["amazon.connection.test.wizard"]._from_result(
            self, participations, error
        )
        return wizard._action_open()

    def action_open_authorize_wizard(self):
        self.ensure_one()
        return self._open_credentials_wizard(
            "amazon.authorize.wizard", self.env._("Authorise Amazon Channel")
        )

    def action_open_rotate_secret_wizard(self):
        self.ensure_one()
        return self._open_credentials_wizard(
            "amazon.rotate.secret.wizard", self.env._("Rotate Client Secret")
        )

    def _open_credentials_wizard(self, model, name):
        if not self.env.user.has_group("base.group_system"):
            raise UserError(
                self.env._(
                    "Only an administrator (Settings rights) can change the Amazon "
                    "credentials."
                )
            )
        wizard = self.env[model].create({"account_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }
