"""The login limiter: slots taken before checking, per-address limits, bounded memory."""

from __future__ import annotations

import pytest

from voicestatus.web.auth import MAX_KEYS, LoginLimiter, address_key
from voicestatus.web.errors import TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_slots_are_taken_before_any_check_finishes() -> None:
    limiter = LoginLimiter(3, 60, Clock())
    pending = [limiter.reserve("192.0.2.1", "op:101") for _ in range(3)]
    with pytest.raises(TooManyAttempts):
        limiter.reserve("192.0.2.1", "op:101")
    for attempt in pending:
        attempt.failed()
    with pytest.raises(TooManyAttempts) as refused:
        limiter.reserve("192.0.2.1", "op:102")
    assert refused.value.details["retry_after"] == 60


def test_an_attempt_left_unreported_counts_as_failed() -> None:
    limiter = LoginLimiter(1, 60, Clock())
    with pytest.raises(RuntimeError), limiter.reserve("192.0.2.1", "admin:alice"):
        raise RuntimeError("the request died while checking")
    with pytest.raises(TooManyAttempts):
        limiter.reserve("192.0.2.1", "admin:alice")


def test_one_address_cannot_lock_an_account_for_others() -> None:
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock)
    for _ in range(3):
        limiter.reserve("203.0.113.9", "admin:alice").failed()
    with pytest.raises(TooManyAttempts):
        limiter.reserve("203.0.113.9", "admin:alice")
    limiter.reserve("198.51.100.7", "admin:alice").succeeded()
    clock.now += 61
    limiter.reserve("203.0.113.9", "admin:alice").failed()


def test_an_address_that_keeps_failing_waits_longer_each_time() -> None:
    clock = Clock()
    limiter = LoginLimiter(2, 60, clock)
    waits: list[int] = []
    for _ in range(7):
        for _ in range(2):
            limiter.reserve("203.0.113.9", "admin:alice").failed()
        with pytest.raises(TooManyAttempts) as refused:
            limiter.reserve("203.0.113.9", "admin:alice")
        waits.append(int(str(refused.value.details["retry_after"])))
        clock.now += waits[-1]
    assert waits == [60, 120, 240, 480, 960, 960, 960]
    clock.now += 61  # a quiet window after the lock-out ends: back to the first step
    for _ in range(2):
        limiter.reserve("203.0.113.9", "admin:alice").failed()
    with pytest.raises(TooManyAttempts) as refused:
        limiter.reserve("203.0.113.9", "admin:alice")
    assert refused.value.details["retry_after"] == 60


def test_the_account_ceiling_holds_across_addresses() -> None:
    limiter = LoginLimiter(3, 60, Clock(), account_factor=10)
    for n in range(30):
        limiter.reserve(f"198.18.0.{n}", "op:101").failed()
    with pytest.raises(TooManyAttempts):
        limiter.reserve("198.18.1.1", "op:101")
    limiter.reserve("198.18.1.1", "op:102").failed()


def test_a_success_does_not_reset_the_address() -> None:
    limiter = LoginLimiter(2, 60, Clock())
    limiter.reserve("192.0.2.1", "op:101").failed()
    limiter.reserve("192.0.2.1", "op:102").succeeded()
    limiter.reserve("192.0.2.1", "op:101").failed()
    with pytest.raises(TooManyAttempts):
        limiter.reserve("192.0.2.1", "op:102")


def test_ipv6_is_counted_per_64() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1")


def test_a_full_limiter_evicts_the_oldest_keys_not_everything() -> None:
    """Past ``MAX_KEYS`` the least recently seen keys go; a fresh attacker stays limited."""
    limiter = LoginLimiter(1, 600, Clock())
    for n in range(MAX_KEYS):
        limiter.reserve(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", f"admin:u{n}").failed()
    limiter.reserve("203.0.113.9", "admin:alice").failed()
    assert len(limiter) == MAX_KEYS
    assert "ip:10.0.0.0" not in limiter
    with pytest.raises(TooManyAttempts):
        limiter.reserve("203.0.113.9", "admin:carol")
    with pytest.raises(TooManyAttempts):
        limiter.reserve("10.1.134.159", "admin:dave")  # the last of the spray, still known
    limiter.reserve("10.0.0.0", "admin:erin").failed()  # the oldest was forgotten, one at a time
