"""pytest plugin for the Odoo tests under pytest-odoo: ``-p pytest_odoo_current_test``
with this folder on ``PYTHONPATH`` (tools/run_tests.py does so).

Odoo 18's runner marks the running test in ``odoo.modules.module.current_test``
from before its class set-up until the next test; pytest-odoo does so only from
Odoo 19 on. The test cursors of HttpCase and the addon (the PostgreSQL store of
Amazon's request budgets works in a savepoint of the test's cursor instead of
committing) rely on it. A conftest.py in the addon's tests/ would not do: pytest
imports it before pytest-odoo can give it its odoo.addons module name.
"""

import pytest

from odoo.modules import module


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    instance = getattr(item, "instance", None)
    if instance is not None:
        module.current_test = instance


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        module.current_test = False
