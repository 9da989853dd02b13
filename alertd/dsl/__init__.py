"""The rule language: parse, check and compile rule files into `alertd.model.Rule`s.

    from alertd.dsl import load_rules
    rules = load_rules([Path("rules")], channels=settings.channel_names(),
                       groups=settings.recipients.keys())

Every mistake in a rule file is a `RuleError` (path, line, column, message, suggestion); a load
raises one `RuleErrors` holding all of them (`load_with_errors` returns them instead, with the
rules that have none of their own, for `alertd check`). The language is in docs/rules.md.
"""

from alertd.dsl.errors import RuleError, RuleErrors
from alertd.dsl.loader import (
    compile_text,
    find_rule_files,
    load_draft,
    load_rules,
    load_with_errors,
    rule_path_problem,
)
from alertd.dsl.runtime import mismatch_counts

__all__ = [
    "RuleError",
    "RuleErrors",
    "compile_text",
    "find_rule_files",
    "load_draft",
    "load_rules",
    "load_with_errors",
    "mismatch_counts",
    "rule_path_problem",
]
