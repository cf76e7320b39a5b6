# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import ast

from lxml import etree

from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import file_path


def _arch(env, xmlid):
    return etree.fromstring(env.ref(xmlid).arch)


@tagged("post_install", "-at_install")
class TestDailyUseViews(TransactionCase):
    def test_payload_viewer_mode_is_shipped_with_odoo(self):
        # Odoo's code editor loads ace/mode-<mode>.js: a mode Odoo does not
        # ship is a 404 in the browser and an unhighlighted payload.
        arch = _arch(self.env, "sale_amazon_spapi.amazon_import_log_view_form")
        for field in arch.iter("field"):
            if field.get("widget") not in ("code", "ace"):
                continue
            options = ast.literal_eval(field.get("options") or "{}")
            mode = options.get("mode", "qweb")
            self.assertTrue(file_path(f"web/static/lib/ace/mode-{mode}.js"))
