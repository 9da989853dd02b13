"""Which windows a batch of events may touch, found before it is evaluated.

A store shared by several daemons (alertd.engine.pg_store) locks a batch's keys, in one sorted
pass so that two daemons never wait for each other in a cycle, and reads those keys' windows
fresh before the engine decides anything. Matching is pure, so the keys can be known first: for
every rule an event may concern (its candidates by type, and the rules whose `resolve when` is
tried on it), every key the rule keeps state by -- its `by` (open alerts), its counting and
suppression keys, its scope's key (`prev()`, `for`), its absence key. The set is larger than
what the batch will touch (a candidate whose condition fails touches nothing), never smaller.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from alertd.engine.ruleset import RuleSet
from alertd.engine.steps import hashable
from alertd.model import Key, KeyFunction, Rule


def touched(rules: RuleSet, events: Iterable[Mapping[str, Any]]) -> set[tuple[str, Key]]:
    """(rule id, key) of every window the events may read or write, keys as the tables hold
    them (alertd.engine.steps.hashable)."""
    found: set[tuple[str, Key]] = set()
    add = found.add
    for event in events:
        for rule in (*rules.candidates(event), *rules.resolvers(event)):
            for key_of in _key_functions(rule):
                try:
                    key = key_of(event)
                except Exception:  # the rule reports it when it runs; it touches nothing
                    continue
                add((rule.id, hashable(key)))
    return found


@functools.lru_cache(maxsize=4096)
def _key_functions(rule: Rule) -> tuple[KeyFunction, ...]:
    keys: list[KeyFunction] = [rule.key]
    if rule.count is not None:
        keys.append(rule.count.key)
    if rule.suppress is not None:
        keys.append(rule.suppress.key)
    if rule.absent is not None:
        keys.append(rule.absent.key)
    if rule.sequence is not None and rule.sequence.scope is not None:
        scope = rule.sequence.scope
        keys.append(lambda event: scope(event)[0])
    return tuple(keys)
