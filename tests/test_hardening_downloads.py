import http.server
import threading

from odoo.tests import tagged

from .common import AmazonImportCommon


@tagged("post_install", "-at_install")
class TestHardeningDownloads(AmazonImportCommon):
    def _bystander(self):
        """Another service on this machine, counting the requests it gets."""
        hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return f"http://127.0.0.1:{server.server_address[1]}", hits

    def test_hostile_customization_link_is_logged_not_fetched(self):
        bystander, hits = self._bystander()
        mug = {"sku": "MUG", "qty": 1, "unit_price": "9.99"}
        customization = {"text": "Zoë & Ben", "label": "Engraving"}
        good = self.add_order(items=[dict(mug)], customization=customization)
        bad = self.add_order(items=[dict(mug)], customization=customization)
        # The order itself names another port of this machine as its file.
        record = self.fake.store.orders[bad]
        record.customizations.clear()
        product = record.order["orderItems"][0]["product"]
        product["customization"]["customizedUrl"] = f"{bystander}/x"

        self.import_orders()

        self.assertEqual(hits, [])
        self.assertEqual(len(self.fake.calls_to("customization")), 1)
        good_order, bad_order = self.orders([good]), self.orders([bad])
        self.assertIn(
            "Zoë & Ben",
            good_order.order_line.filtered("amazon_item_ref").amazon_customization,
        )
        Attachment = self.env["ir.attachment"]
        domain = [("res_model", "=", "sale.order")]
        self.assertTrue(Attachment.search(domain + [("res_id", "=", good_order.id)]))
        self.assertTrue(bad_order)
        self.assertFalse(Attachment.search(domain + [("res_id", "=", bad_order.id)]))
        log = self.env["amazon.import.log"].search(
            [("account_id", "=", self.account.id), ("amazon_order_ref", "=", bad)]
        )
        self.assertEqual(len(log), 1)
        self.assertIn("not an https address of Amazon's download servers", log.message)
        self.assertIn(bystander, log.message)
        self.assertFalse(
            self.env["amazon.import.log"].search(
                [("account_id", "=", self.account.id), ("amazon_order_ref", "=", good)]
            )
        )
