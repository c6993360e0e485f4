"""The status mechanism: legal moves pass, staying put passes, anything else is a coded error."""

from enum import StrEnum

import pytest

from tenure_shared.states import IllegalTransition, move


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


MOVES = {Light.RED: {Light.GREEN}, Light.GREEN: {Light.AMBER}, Light.AMBER: {Light.RED}}


def test_a_legal_move_returns_the_new_status():
    assert move("red", Light.GREEN, MOVES, what="The light") is Light.GREEN


def test_staying_put_is_allowed():
    assert move("amber", Light.AMBER, MOVES, what="The light") is Light.AMBER


def test_an_illegal_move_is_a_coded_conflict():
    with pytest.raises(IllegalTransition) as refused:
        move("red", Light.AMBER, MOVES, what="The light")
    assert (refused.value.status, refused.value.code) == (409, "illegal_state_transition")
    assert "red to amber" in refused.value.detail


def test_an_unknown_current_status_is_refused():
    with pytest.raises(ValueError):
        move("blue", Light.RED, MOVES, what="The light")
