# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo.tests import TransactionCase


class AmazonCommon(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.uk = cls.env.ref("sale_amazon_spapi.marketplace_uk")
        cls.de = cls.env.ref("sale_amazon_spapi.marketplace_de")
        cls.fr = cls.env.ref("sale_amazon_spapi.marketplace_fr")
        cls.us = cls.env.ref("sale_amazon_spapi.marketplace_us")
        cls.account = cls.env["amazon.account"].create(
            {
                "name": "Amazon EU",
                "seller_central_domain": "UK",
                "marketplace_ids": [(6, 0, (cls.uk | cls.de).ids)],
                "lwa_client_id": "amzn1.application-oa2-client.0123456789abcdef",
                "lwa_client_secret": "amzn1.oa2-cs.v1.secretsecretsecret",
                "lwa_refresh_token": "Atzr|IwEBIrefreshtokenrefreshtoken",
                "aws_access_key_id": "AKIAEXAMPLEKEY00",
                "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "seller_id": "A2EXAMPLE12345",
            }
        )
