"""A viewer's tick frame, joined from the tick's shared bytes, is the frame of its text."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pace.daphne_patches.outlet import text_frame
from tracking.fanout.tick import Tick


def _text(tick: Tick, follows: list[int]) -> str:
    """The tick frame PROTOCOL.md gives a viewer: the leaders' changed states, then its
    followed athletes' that changed and are not leaders, as followed."""
    leaders = [a for a in tick.leaders if a in tick.states]
    others = [a for a in follows if a in tick.states and a not in tick.leaders]
    states = ",".join(tick.states[a] for a in [*leaders, *others])
    return f'{{"type":"tick","seq":{tick.seq},"t":{tick.t},"athletes":[{states}]}}'


athletes = st.integers(1, 12)
states = st.dictionaries(
    athletes,
    st.text(max_size=40).map(lambda s: json.dumps({"name": s}))
    | st.integers(0, 70_000).map(lambda n: json.dumps("x" * n)),
    max_size=6,
)


@given(
    states,
    st.lists(athletes, max_size=4, unique=True),
    st.lists(athletes, max_size=6),
    st.floats(0, 2e9, allow_nan=False),
)
def test_a_viewers_frame_is_the_frame_of_its_text(changed, leaders, follows, t):
    tick = Tick(
        seq=7, t=t, states=changed, field_changes={}, leaders=leaders, results=[],
        field_interval=5, athletes=12,
    )  # fmt: skip
    for _ in range(2):  # the tick's bytes are built once, then shared
        assert tick.frame(follows) == text_frame(_text(tick, follows))


def test_viewers_with_no_followed_change_share_one_frame():
    tick = Tick(
        seq=3, t=1.5, states={1: '{"id":1}', 2: '{"id":2}'}, field_changes={}, leaders=[1],
        results=[], field_interval=5, athletes=3,
    )  # fmt: skip
    assert tick.frame([3]) is tick.frame([]) is tick.frame([1])
    assert tick.frame([2]) == text_frame(
        '{"type":"tick","seq":3,"t":1.5,"athletes":[{"id":1},{"id":2}]}'
    )
