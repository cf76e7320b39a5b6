import threading
import time

import pytest
from amazon_helpers import FakeClock

from amazon import USAGE_PLANS, Pacer, ThrottledError
from amazon.pacing import MemoryStore, TokenBucket


def test_usage_plans_match_the_models():
    assert USAGE_PLANS["searchOrders"] == (0.0056, 20)
    assert USAGE_PLANS["getOrder"] == (0.5, 30)
    assert USAGE_PLANS["getMarketplaceParticipations"] == (0.016, 15)
    assert USAGE_PLANS["confirmShipment"] == (2.0, 10)
    assert USAGE_PLANS["rotateApplicationClientSecret"] == (0.0167, 1)


def test_bucket_refills_at_rate_up_to_burst():
    bucket = TokenBucket(rate=0.5, burst=3, now=0.0)
    bucket.tokens = 0.0
    assert bucket.wait_time(0.0) == pytest.approx(2.0)
    assert bucket.wait_time(1.0) == pytest.approx(1.0)
    bucket.refill(100.0)
    assert bucket.tokens == 3.0


def test_burst_then_wait():
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    for _ in range(30):
        assert pacer.acquire("getOrder", max_wait=5.0, sleep=clock.sleep) == 0
    assert clock.sleeps == []
    # 31st request: bucket empty, one token every 2 s at 0.5 req/s.
    assert pacer.acquire("getOrder", max_wait=5.0, sleep=clock.sleep) == pytest.approx(
        2
    )
    assert clock.sleeps == [pytest.approx(2.0)]


def test_max_wait_raises_throttled_without_sleeping():
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    for _ in range(20):
        pacer.acquire("searchOrders", max_wait=5.0, sleep=clock.sleep)
    with pytest.raises(ThrottledError) as info:
        pacer.acquire("searchOrders", max_wait=5.0, sleep=clock.sleep)
    err = info.value
    assert clock.sleeps == []
    assert err.code == "throttled" and err.retryable
    assert err.operation == "searchOrders"
    assert err.retry_after == pytest.approx(1 / 0.0056)
    assert "resumes" in str(err) and "searchOrders" in str(err)
    # The refused call took no token: once the wait fits, it goes through.
    clock.now += 1 / 0.0056
    assert pacer.acquire("searchOrders", max_wait=5.0, sleep=clock.sleep) == 0


def test_resume_after_refill():
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    for _ in range(15):
        pacer.acquire("getMarketplaceParticipations", 0, clock.sleep)
    with pytest.raises(ThrottledError):
        pacer.acquire("getMarketplaceParticipations", 0, clock.sleep)
    clock.now += 10 / 0.016
    for _ in range(10):
        pacer.acquire("getMarketplaceParticipations", 0, clock.sleep)
    with pytest.raises(ThrottledError):
        pacer.acquire("getMarketplaceParticipations", 0, clock.sleep)


def test_rate_limit_header_adjusts_rate():
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    assert pacer.update_rate("getOrder", "2.0") == 2.0
    assert pacer.bucket("getOrder").rate == 2.0
    bucket = pacer.bucket("getOrder")
    bucket.tokens = 0.0
    assert pacer.reserve("getOrder", max_wait=5.0) == pytest.approx(0.5)
    for bad in (None, "", "abc", "0", "-1", "nan", "inf"):
        assert pacer.update_rate("getOrder", bad) is None
    assert pacer.bucket("getOrder").rate == 2.0


def test_throttled_empties_bucket():
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    wait = pacer.throttled("getOrder")
    assert wait == pytest.approx(2.0)
    assert pacer.reserve("getOrder", max_wait=5.0) == pytest.approx(2.0)


def test_reservations_queue_up():
    clock = FakeClock()
    pacer = Pacer(plans={"op": (1.0, 1)}, clock=clock)
    assert pacer.reserve("op", 10) == 0
    assert pacer.reserve("op", 10) == pytest.approx(1.0)
    assert pacer.reserve("op", 10) == pytest.approx(2.0)
    with pytest.raises(ThrottledError):
        pacer.reserve("op", 2.5)


def test_unknown_operation_gets_default_plan():
    pacer = Pacer(clock=FakeClock())
    assert pacer.bucket("somethingElse").rate == 1.0


def test_registry_shares_state_per_key():
    Pacer.forget()
    first = Pacer.for_key("app/seller-A")
    assert Pacer.for_key("app/seller-A") is first
    assert Pacer.for_key("app/seller-B") is not first
    first.reserve("getOrder", 5)
    assert Pacer.for_key("app/seller-A").state()["getOrder"][2] < 30
    Pacer.forget("app/seller-A")
    assert Pacer.for_key("app/seller-A") is not first
    Pacer.forget()


# -- shared stores ----------------------------------------------------------


class RowStore:
    """Keeps buckets as plain rows behind one lock, as a database would.

    Every update loads the row, lets the pacer change it and writes it back;
    nothing is written when the change raises.
    """

    clock = None

    def __init__(self):
        self.rows = {}
        self.lock = threading.Lock()
        self.updates = 0

    def update(self, key, operation, fresh, fn):
        with self.lock:
            self.updates += 1
            row = self.rows.get((key, operation))
            if row is None:
                new = fresh()
                row = (new.rate, new.burst, new.tokens, new.updated)
            bucket = TokenBucket(row[0], row[1], row[3])
            bucket.tokens = row[2]
            result = fn(bucket)
            self.rows[(key, operation)] = (
                bucket.rate,
                bucket.burst,
                bucket.tokens,
                bucket.updated,
            )
            return result

    def buckets(self, key):
        with self.lock:
            result = {}
            for (row_key, operation), row in self.rows.items():
                if row_key == key:
                    result[operation] = TokenBucket(row[0], row[1], row[3])
                    result[operation].tokens = row[2]
            return result


def test_default_store_is_per_pacer_and_monotonic():
    first, second = Pacer(), Pacer()
    assert isinstance(first.store, MemoryStore)
    assert first.store is not second.store
    assert first.clock is time.monotonic
    first.reserve("getOrder", 0)
    assert first.state()["getOrder"][2] == pytest.approx(29, abs=0.01)
    assert second.state() == {}


def test_two_pacers_sharing_a_memory_store_are_one_bucket():
    clock = FakeClock()
    store = MemoryStore()
    cron = Pacer(clock=clock, store=store, key="seller-A")
    click = Pacer(clock=clock, store=store, key="seller-A")
    other_seller = Pacer(clock=clock, store=store, key="seller-B")
    for _ in range(10):
        cron.reserve("getMarketplaceParticipations", 0)
    for _ in range(5):
        click.reserve("getMarketplaceParticipations", 0)
    with pytest.raises(ThrottledError):
        cron.reserve("getMarketplaceParticipations", 0)
    with pytest.raises(ThrottledError):
        click.reserve("getMarketplaceParticipations", 0)
    # Another seller has its own budget in the same store.
    assert other_seller.reserve("getMarketplaceParticipations", 0) == 0


def test_shared_rate_and_throttle_reach_every_pacer():
    clock = FakeClock()
    store = RowStore()
    first = Pacer(clock=clock, store=store, key="k")
    second = Pacer(clock=clock, store=store, key="k")
    first.update_rate("getOrder", "2.0")
    assert second.bucket("getOrder").rate == 2.0
    second.throttled("getOrder")
    # Amazon's 429 seen by one worker makes the other wait too.
    assert first.reserve("getOrder", 5) == pytest.approx(0.5)


def test_same_rate_header_is_written_once():
    store = RowStore()
    pacer = Pacer(clock=FakeClock(), store=store, key="k")
    for _ in range(5):
        pacer.update_rate("getOrder", "0.5")
    assert store.updates == 1
    pacer.update_rate("getOrder", "1.0")
    assert store.updates == 2


def test_refused_reservation_writes_nothing():
    clock = FakeClock()
    store = RowStore()
    pacer = Pacer(plans={"op": (1.0, 1)}, clock=clock, store=store, key="k")
    pacer.reserve("op", 0)
    before = dict(store.rows)
    clock.now += 0.5
    with pytest.raises(ThrottledError):
        pacer.reserve("op", 0)
    assert store.rows == before


def test_stored_burst_follows_the_plan():
    clock = FakeClock()
    store = RowStore()
    Pacer(plans={"op": (1.0, 1)}, clock=clock, store=store, key="k").bucket("op")
    upgraded = Pacer(plans={"op": (1.0, 3)}, clock=clock, store=store, key="k")
    clock.now += 10
    assert upgraded.bucket("op").burst == 3.0
    assert upgraded.bucket("op").tokens == 3.0


def test_workers_racing_on_a_locked_store_spend_one_burst():
    store = RowStore()
    pacers = [Pacer(clock=FakeClock(), store=store, key="k") for _ in range(4)]
    granted = []
    barrier = threading.Barrier(len(pacers))

    def worker(pacer):
        barrier.wait()
        for _ in range(20):
            try:
                pacer.reserve("getMarketplaceParticipations", 0)
                granted.append(1)
            except ThrottledError:
                pass

    threads = [threading.Thread(target=worker, args=(p,)) for p in pacers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 15


def test_acquire_sleeps_after_releasing_the_store():
    clock = FakeClock()
    store = RowStore()
    pacer = Pacer(plans={"op": (1.0, 1)}, clock=clock, store=store, key="k")
    held_while_sleeping = []

    def sleep(seconds):
        held_while_sleeping.append(store.lock.locked())
        clock.sleep(seconds)

    pacer.acquire("op", 5, sleep)
    assert pacer.acquire("op", 5, sleep) == pytest.approx(1.0)
    assert held_while_sleeping == [False]
