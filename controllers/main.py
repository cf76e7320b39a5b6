# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import logging

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from .. import const

_logger = logging.getLogger(__name__)


class AmazonAuthorizeController(http.Controller):
    @http.route(const.OAUTH_CALLBACK_ROUTE, type="http", auth="user", methods=["GET"])
    def amazon_authorize_callback(
        self,
        state=None,
        spapi_oauth_code=None,
        selling_partner_id=None,
        error=None,
        error_description=None,
        **kwargs,
    ):
        """Seller Central sends the administrator back here after the consent.

        The code is exchanged at once: Amazon accepts it for 5 minutes only.
        """
        Account = request.env["amazon.account"]
        account, problem = Account._amazon_consume_oauth_state(state)
        if problem:
            # The state is not logged: it is of no use to anyone once rejected,
            # but an attacker's probe does not belong in the log either.
            _logger.warning(
                "Amazon authorisation callback rejected for user %s", request.env.uid
            )
            return self._result_page(problem, status=403)
        if error or not spapi_oauth_code:
            return self._result_page(
                Account._amazon_consent_error_message(
                    error or kwargs.get("error_code"), error_description
                ),
                account=account,
                status=400,
            )
        try:
            account._amazon_authorize_with_code(spapi_oauth_code, selling_partner_id)
        except UserError as exc:
            return self._result_page(exc.args[0], account=account, status=400)
        # Through the channels' action: the form opens with its breadcrumb. The
        # parameter makes the web client say how it went (amazon_authorised.js);
        # the form's status banner keeps saying it after the notification fades.
        outcome = "ok" if account.connection_state == "ok" else "check"
        return request.redirect(
            f"/odoo/action-sale_amazon_spapi.action_amazon_account/{account.id}"
            f"?{const.AUTHORISED_URL_PARAM}={outcome}"
        )

    def _result_page(self, message, account=None, status=400):
        response = request.render(
            "sale_amazon_spapi.amazon_authorize_result",
            {
                "message": message,
                "account": account,
                "back_url": f"/odoo/amazon.account/{account.id}"
                if account
                else "/odoo/action-sale_amazon_spapi.action_amazon_account",
            },
        )
        response.status_code = status
        return response
