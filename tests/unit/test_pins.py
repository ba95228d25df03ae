"""One PIN rule for the setter, the API schema and the web form (the phone: test_menu_pin_lock.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from voicestatus.errors import InvalidInput
from voicestatus.services.audit import Actor
from voicestatus.services.operators import OperatorService
from voicestatus.services.pins import PIN_MAX_DIGITS, PIN_MIN_DIGITS, is_valid_pin
from voicestatus.web.schemas import OperatorPatch

ADMIN = Actor("admin", "test")


async def test_the_setter_the_api_and_the_rule_agree_on_every_length(ops: OperatorService) -> None:
    for length in range(PIN_MIN_DIGITS - 2, PIN_MAX_DIGITS + 3):
        pin = "7" * length
        allowed = PIN_MIN_DIGITS <= length <= PIN_MAX_DIGITS
        assert is_valid_pin(pin) is allowed
        if allowed:
            await ops.set_pin("101", pin, actor=ADMIN)
            assert await ops.verify_pin("101", pin)
            assert OperatorPatch.model_validate({"pin": pin}).pin == pin
        else:
            with pytest.raises(InvalidInput):
                await ops.set_pin("101", pin, actor=ADMIN)
            with pytest.raises(ValidationError):
                OperatorPatch.model_validate({"pin": pin})
    assert not is_valid_pin("１２３４"), "ASCII digits only"
