import pytest
from amazon_helpers import FakeClock

from amazon import USAGE_PLANS, Pacer, ThrottledError
from amazon.pacing import TokenBucket


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
