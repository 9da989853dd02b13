"""How many examples a hypothesis test runs, scaled by the profile (see tests/conftest.py).

@pytest.mark.timeout(120 * scale())       # the time the examples take scales with them
@settings(max_examples=examples(300))     # 300 in `ci`, 6,000 in `long`
"""

from hypothesis import settings

CI_EXAMPLES = 100
"""Hypothesis's default number of examples, which the `ci` profile keeps."""


def scale() -> int:
    """How many times more examples the active profile runs than `ci` (at least 1)."""
    return max(1, settings().max_examples // CI_EXAMPLES)


def examples(count: int) -> int:
    """`count` under the `ci` profile; `scale()` times as many under a longer one."""
    return count * scale()
