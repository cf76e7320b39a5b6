# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import time
from contextlib import contextmanager

from odoo import api, models, modules
from odoo.tools import SQL

from ..amazon.pacing import TokenBucket


class AmazonRateLimit(models.AbstractModel):
    """Amazon's request budgets, shared by every Odoo worker and server.

    Amazon limits requests per selling partner + application, whatever the
    number of processes sending them, so the token buckets of
    ``amazon/pacing.py`` are kept in a plain table: one row per (pacing key,
    operation).  Plain, because it is written on every request and read by no
    one: no ORM columns, no access rights, nothing for users to see.  The
    pacing key is a digest: no credential is stored here.  Unlogged: the rows
    are not worth a WAL write per request, and a crash of PostgreSQL that
    empties the table only gives back full buckets (Amazon's 429 corrects them).
    """

    _name = "amazon.rate.limit"
    _description = "Amazon Request Budget"

    def init(self):
        self.env.cr.execute(
            SQL(
                """
                CREATE UNLOGGED TABLE IF NOT EXISTS %s (
                    pacing_key varchar NOT NULL,
                    operation varchar NOT NULL,
                    rate double precision NOT NULL,
                    burst double precision NOT NULL,
                    tokens double precision NOT NULL,
                    updated double precision NOT NULL,
                    PRIMARY KEY (pacing_key, operation)
                )
                """,
                SQL.identifier(self._table),
            )
        )

    @api.model
    def _drop_pacing_table(self):
        self.env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(self._table)))

    @api.model
    def _pacing_store(self):
        """The bucket store of this database, for :class:`~..amazon.Pacer`."""
        # A test runs in one transaction that is rolled back at its end: a
        # transaction of our own would neither see its data nor be undone.
        cr = self.env.cr if modules.module.current_test else None
        return PostgresBucketStore(self.env.registry, self._table, cr=cr)


class PostgresBucketStore:
    """Token buckets in PostgreSQL, changed under a row lock.

    Each change is a short transaction of its own on a cursor of its own:
    the lock is held for a few statements and never while a worker sleeps,
    is released by the commit or by the rollback of a failure, and does not
    depend on the caller's (long) transaction.  Raw SQL on that cursor needs
    no access right, so a salesman's import is paced like the cron's.
    """

    # Monotonic clocks differ between processes and machines.
    clock = staticmethod(time.time)

    def __init__(self, registry, table, cr=None):
        self.registry = registry
        self.table = SQL.identifier(table)
        # Only for tests: a savepoint of this cursor instead of a transaction.
        self.cr = cr

    @contextmanager
    def _transaction(self):
        """Yield a cursor, and the SQL to start its transaction's first query."""
        if self.cr is not None:
            with self.cr.savepoint(flush=False):
                yield self.cr, SQL()
            return
        with self.registry.cursor() as cr:
            # Under Odoo's REPEATABLE READ, a worker that waited for the row
            # lock would fail on the row the other worker just updated; READ
            # COMMITTED makes it read that row instead.
            yield cr, SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED;")

    def update(self, key, operation, fresh, fn):
        """See ``MemoryStore.update``: ``fn`` runs under the row lock."""
        new = fresh()
        with self._transaction() as (cr, begin):
            # One round trip to create the row if needed and lock it.
            cr.execute(
                SQL(
                    """
                    %(begin)s
                    INSERT INTO %(table)s
                        (pacing_key, operation, rate, burst, tokens, updated)
                    VALUES (%(key)s, %(operation)s, %(rate)s, %(burst)s,
                            %(tokens)s, %(updated)s)
                    ON CONFLICT DO NOTHING;
                    SELECT rate, burst, tokens, updated FROM %(table)s
                     WHERE pacing_key = %(key)s AND operation = %(operation)s
                       FOR UPDATE
                    """,
                    begin=begin,
                    table=self.table,
                    key=key,
                    operation=operation,
                    rate=new.rate,
                    burst=new.burst,
                    tokens=new.tokens,
                    updated=new.updated,
                )
            )
            bucket = _bucket(*cr.fetchone())
            result = fn(bucket)
            cr.execute(
                SQL(
                    """
                    UPDATE %s SET rate = %s, burst = %s, tokens = %s, updated = %s
                     WHERE pacing_key = %s AND operation = %s
                    """,
                    self.table,
                    bucket.rate,
                    bucket.burst,
                    bucket.tokens,
                    bucket.updated,
                    key,
                    operation,
                )
            )
        return result

    def buckets(self, key):
        """Copies of the buckets of ``key``, by operation (diagnostics)."""
        with self._transaction() as (cr, _begin):
            cr.execute(
                SQL(
                    "SELECT operation, rate, burst, tokens, updated FROM %s"
                    " WHERE pacing_key = %s",
                    self.table,
                    key,
                )
            )
            return {operation: _bucket(*values) for operation, *values in cr.fetchall()}


def _bucket(rate, burst, tokens, updated):
    bucket = TokenBucket(rate, burst, updated)
    bucket.tokens = tokens
    return bucket
