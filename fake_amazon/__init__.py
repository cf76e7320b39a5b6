"""A fake Amazon (LWA + SP-API) HTTP server for tests and demos; no Odoo."""

from .server import Call, FakeAmazon
