from . import test_amazon_account
from . import test_amazon_security
from . import test_authorize_callback
from . import test_credentials
from . import test_import_orders
from . import test_import_resilience
from . import test_rate_limit
from . import test_security_hardening
