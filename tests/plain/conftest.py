"""Plain pytest setup: no Odoo.

The addon root is put on ``sys.path`` so that ``amazon`` (the access layer) and
``fake_amazon`` import as top-level packages without importing the addon (and so
Odoo) itself.
"""

import os
import sys

ADDON_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
if ADDON_ROOT not in sys.path:
    sys.path.insert(0, ADDON_ROOT)
