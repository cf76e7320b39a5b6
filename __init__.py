from . import controllers
from . import models
from . import wizards


def uninstall_hook(env):
    # The ORM drops the tables of concrete models only: the request budgets
    # are a plain table of an abstract model.
    env["amazon.rate.limit"]._drop_pacing_table()
