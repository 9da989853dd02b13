# ruff: noqa: E501 - the expected messages are compared whole, one source line per line
"""The exact text of every kind of mistake: a table of bad rule files and what each must say.

Each message names the place (path:line:col), shows the line with a caret under the mistake,
and gives a hint where one is obvious.
"""

import pytest

from alertd.dsl import RuleErrors, compile_text

GROUPS = ["managers", "safety_team"]

CASES: list[tuple[str, str, str]] = [
    (
        "syntax: missing operand",
        "rule r { when speed > }",
        "fleet.rules:1:23: error: unexpected '}', expected an expression\n"
        "rule r { when speed > }\n"
        "                      ^",
    ),
    (
        "syntax: assignment",
        "rule r { when speed = 3 }",
        "fleet.rules:1:21: error: unexpected '=', expected an operator, a clause, '(' or '}'\n"
        "rule r { when speed = 3 }\n"
        "                    ^\n"
        "hint: write '==' to compare",
    ),
    (
        "syntax: chained",
        "rule r { when 1 < speed < 3 }",
        "fleet.rules:1:25: error: unexpected '<', expected an operator, a clause or '}'\n"
        "rule r { when 1 < speed < 3 }\n"
        "                        ^\n"
        "hint: comparisons cannot be chained: write a < b and b < c",
    ),
    (
        "syntax: unterminated",
        'rule r { when name == "abc }',
        "fleet.rules:1:23: error: unterminated string\n"
        'rule r { when name == "abc }\n'
        "                      ^\n"
        'hint: close it with " on the same line',
    ),
    (
        "syntax: &&",
        "rule r { when a == 1 && b == 2 }",
        "fleet.rules:1:22: error: unexpected character '&'\n"
        "rule r { when a == 1 && b == 2 }\n"
        "                     ^\n"
        "hint: write 'and' to combine conditions",
    ),
    (
        "syntax: unknown clause",
        "rule r { when a == 1\n  notfy sms }",
        "fleet.rules:2:3: error: unexpected 'notfy', expected an operator, a clause or '}'\n"
        "  notfy sms }\n"
        "  ^^^^^\n"
        "hint: did you mean 'notify'?",
    ),
    (
        "syntax: missing brace",
        "rule r { when a == 1\n\nrule s { when b == 2 }",
        "fleet.rules:3:1: error: unexpected 'rule', expected a clause or '}'\n"
        "rule s { when b == 2 }\n"
        "^^^^\n"
        "hint: is a closing '}' missing before this line?",
    ),
    (
        "syntax: eof",
        "rule r { when a == 1",
        "fleet.rules:1:21: error: unexpected end of file, expected a clause or '}'\n"
        "rule r { when a == 1\n"
        "                    ^",
    ),
    (
        "syntax: top",
        "rules r { when a == 1 }",
        "fleet.rules:1:1: error: unexpected 'rules', expected 'rule', 'list' or 'macro'\n"
        "rules r { when a == 1 }\n"
        "^^^^^\n"
        "hint: did you mean 'rule'?",
    ),
    (
        "syntax: paren",
        "rule r { when (a == 1 }",
        "fleet.rules:1:23: error: unexpected '}', expected ')'\n"
        "rule r { when (a == 1 }\n"
        "                      ^",
    ),
    (
        "syntax: notify empty",
        "rule r { when a == 1 notify }",
        "fleet.rules:1:29: error: unexpected '}', expected a name\n"
        "rule r { when a == 1 notify }\n"
        "                            ^",
    ),
    (
        "syntax: == for =",
        'macro safety == type == "safety_event"',
        "fleet.rules:1:14: error: unexpected '==', expected '='\n"
        'macro safety == type == "safety_event"\n'
        "             ^^",
    ),
    (
        "syntax: duration for count",
        "rule r { when a == 1\n count 5m within 10m }",
        "fleet.rules:2:8: error: unexpected '5m', expected a number\n"
        " count 5m within 10m }\n"
        "       ^^",
    ),
    (
        "syntax: keyword for clause",
        "rule r { when a == 1\n within 5m }",
        "fleet.rules:2:2: error: unexpected 'within', expected an operator, a clause or '}'\n"
        " within 5m }\n"
        " ^^^^^^\n"
        "hint: did you mean 'when'?",
    ),
    (
        "unknown macro",
        'macro safety = type == "safety_event"\nrule r { when saftey }',
        "fleet.rules:2:15: error: unknown macro 'saftey'\n"
        "rule r { when saftey }\n"
        "              ^^^^^^\n"
        "hint: did you mean 'safety'?",
    ),
    (
        "unknown macro no close",
        "rule r { when engine_on }",
        "fleet.rules:1:15: error: unknown macro 'engine_on'\n"
        "rule r { when engine_on }\n"
        "              ^^^^^^^^^\n"
        "hint: to test a field, compare it (engine_on == true) or use exists(engine_on)",
    ),
    (
        "list as condition",
        'list harsh = ["a"]\nrule r { when harsh }',
        "fleet.rules:2:15: error: 'harsh' is a list, not a condition\n"
        "rule r { when harsh }\n"
        "              ^^^^^\n"
        "hint: test membership, such as type in harsh",
    ),
    (
        "unknown list",
        'list harsh = ["a"]\nrule r { when kind in harsch }',
        "fleet.rules:2:23: error: unknown list 'harsch'\n"
        "rule r { when kind in harsch }\n"
        "                      ^^^^^^\n"
        "hint: did you mean 'harsh'?",
    ),
    (
        "unknown list no close",
        "rule r { when kind in tags }",
        "fleet.rules:1:23: error: unknown list 'tags'\n"
        "rule r { when kind in tags }\n"
        "                      ^^^^\n"
        "hint: to test a field that holds a list, write tags contains ...",
    ),
    (
        "unknown function",
        'rule r { when lowr(name) == "x" }',
        "fleet.rules:1:15: error: unknown function 'lowr'\n"
        'rule r { when lowr(name) == "x" }\n'
        "              ^^^^\n"
        "hint: did you mean 'lower'?",
    ),
    (
        "unknown function no close",
        'rule r { when frobnicate(name) == "x" }',
        "fleet.rules:1:15: error: unknown function 'frobnicate'\n"
        'rule r { when frobnicate(name) == "x" }\n'
        "              ^^^^^^^^^^\n"
        "hint: the functions are abs, changed, coalesce, distance_km, exists, geocell, hour, len, lower, max, min, prev, round, upper or weekday",
    ),
    (
        "unknown channel",
        "rule r { when a == 1\n notify sms, slak }",
        "fleet.rules:2:14: error: unknown channel 'slak'\n"
        " notify sms, slak }\n"
        "             ^^^^\n"
        "hint: did you mean 'slack'?",
    ),
    (
        "unknown group",
        "rule r { when a == 1\n notify email(managers, saftey_team) }",
        "fleet.rules:2:25: error: unknown recipient group 'saftey_team'\n"
        " notify email(managers, saftey_team) }\n"
        "                        ^^^^^^^^^^^\n"
        "hint: did you mean 'safety_team'?",
    ),
    (
        "arity",
        'rule r { when geocell(location) == "x" }',
        "fleet.rules:1:15: error: geocell() takes 2 arguments, got 1\n"
        'rule r { when geocell(location) == "x" }\n'
        "              ^^^^^^^^^^^^^^^^^",
    ),
    (
        "arity range",
        "rule r { when round(x, 1, 2) > 0 }",
        "fleet.rules:1:15: error: round() takes 1 or 2 arguments, got 3\n"
        "rule r { when round(x, 1, 2) > 0 }\n"
        "              ^^^^^^^^^^^^^^",
    ),
    (
        "arity min",
        "rule r { when min() > 0 }",
        "fleet.rules:1:15: error: min() takes at least 1 argument, got 0\n"
        "rule r { when min() > 0 }\n"
        "              ^^^^^",
    ),
    (
        "arity 0/1",
        'rule r { when hour("UTC", 1) > 0 }',
        "fleet.rules:1:15: error: hour() takes 0 or 1 arguments, got 2\n"
        'rule r { when hour("UTC", 1) > 0 }\n'
        "              ^^^^^^^^^^^^^^",
    ),
    (
        "duplicate id",
        "rule r { when a == 1 }\nrule r { when a == 2 }",
        "fleet.rules:2:6: error: duplicate rule id 'r' (first defined at fleet.rules:1:1)\n"
        "rule r { when a == 2 }\n"
        "     ^",
    ),
    (
        "duplicate rule name",
        'rule a { when x == 1\n name "Dup" }\nrule b { when x == 2\n name "Dup" }',
        "fleet.rules:4:7: error: duplicate rule name 'Dup' (first used by rule 'a' at "
        "fleet.rules:1:1)\n"
        ' name "Dup" }\n'
        "      ^^^^^",
    ),
    (
        "empty rule name",
        'rule r { when x == 1\n name "" }',
        "fleet.rules:2:7: error: the rule name is empty\n"
        ' name "" }\n'
        "      ^^\n"
        "hint: leave 'name' out and the rule shows its id, 'r'",
    ),
    (
        "blank rule name",
        'rule r { when x == 1\n name "   " }',
        "fleet.rules:2:7: error: the rule name is empty\n"
        ' name "   " }\n'
        "      ^^^^^\n"
        "hint: leave 'name' out and the rule shows its id, 'r'",
    ),
    (
        "rule name equal to an unnamed rule's id",
        'rule speeding { when speed > 120 }\nrule fast { when speed > 100\n name "speeding" }',
        "fleet.rules:3:7: error: duplicate rule name 'speeding' (rule 'speeding' at fleet.rules:1:1 has no name and shows its id)\n"
        ' name "speeding" }\n'
        "      ^^^^^^^^^^\n"
        "hint: give one of the two rules a name of its own",
    ),
    (
        "unnamed rule's id equal to an earlier rule name",
        'rule fast { when speed > 100\n name "speeding" }\nrule speeding { when speed > 120 }',
        "fleet.rules:3:6: error: rule 'speeding' has no name and shows its id, but rule 'fast' at fleet.rules:1:1 is named 'speeding'\n"
        "rule speeding { when speed > 120 }\n"
        "     ^^^^^^^^\n"
        "hint: give one of the two rules a name of its own",
    ),
    (
        "invalid duration",
        "rule r { when a == 1\n suppress 5min by vehicle_id }",
        "fleet.rules:2:11: error: invalid duration '5min': expected a number and a unit (ms, s, m, h, d), such as 90s, 5m, 2h or 1d\n"
        " suppress 5min by vehicle_id }\n"
        "          ^^^^",
    ),
    (
        "duration no unit",
        "rule r { when a == 1\n suppress 300 }",
        "fleet.rules:2:11: error: invalid duration '300': expected a number and a unit (ms, s, m, h, d), such as 90s, 5m, 2h or 1d\n"
        " suppress 300 }\n"
        "          ^^^\n"
        "hint: add a unit: 300s, 300m or 300h",
    ),
    (
        "zero duration",
        "rule r { when a == 1\n suppress 0s }",
        "fleet.rules:2:11: error: the duration must be longer than zero\n"
        " suppress 0s }\n"
        "          ^^",
    ),
    (
        "invalid duration expr",
        "rule r { when idle > 5x }",
        "fleet.rules:1:22: error: invalid duration '5x': expected a number and a unit (ms, s, m, h, d), such as 90s, 5m, 2h or 1d\n"
        "rule r { when idle > 5x }\n"
        "                     ^^",
    ),
    (
        "invalid regex",
        'rule r { when plate matches "B-[A-Z" }',
        "fleet.rules:1:32: error: invalid regular expression: missing ]: [A-Z\n"
        'rule r { when plate matches "B-[A-Z" }\n'
        "                               ^^^^",
    ),
    (
        "regex backreference",
        'rule r { when plate matches "^(\\w)x\\1$" }',
        "fleet.rules:1:36: error: invalid regular expression: invalid escape sequence: \\1\n"
        'rule r { when plate matches "^(\\w)x\\1$" }\n'
        "                                   ^^\n"
        "hint: backreferences such as \\1 are not supported (RE2 syntax)",
    ),
    (
        "regex lookahead",
        'rule r { when plate matches "^B-(?!TEST)" }',
        "fleet.rules:1:33: error: invalid regular expression: invalid perl operator: (?!\n"
        'rule r { when plate matches "^B-(?!TEST)" }\n'
        "                                ^^^\n"
        "hint: lookahead (?!...) is not supported (RE2 syntax)",
    ),
    (
        "regex lookbehind",
        'rule r { when plate matches "(?<=B-)X" }',
        "fleet.rules:1:30: error: invalid regular expression: invalid perl operator: (?<=\n"
        'rule r { when plate matches "(?<=B-)X" }\n'
        "                             ^^^^\n"
        "hint: lookbehind (?<=...) is not supported (RE2 syntax)",
    ),
    (
        "regex python end of text",
        'rule r { when plate matches "X\\Z" }',
        "fleet.rules:1:31: error: invalid regular expression: invalid escape sequence: \\Z\n"
        'rule r { when plate matches "X\\Z" }\n'
        "                              ^^\n"
        "hint: write \\z for the end of the text",
    ),
    (
        "regex not literal",
        "rule r { when plate matches pattern }",
        "fleet.rules:1:29: error: the pattern after 'matches' must be a string literal\n"
        "rule r { when plate matches pattern }\n"
        "                            ^^^^^^^",
    ),
    (
        "count below 2",
        "rule r { when a == 1\n count 1 within 5m }",
        "fleet.rules:2:8: error: count must be at least 2, got 1\n"
        " count 1 within 5m }\n"
        "       ^\n"
        "hint: to act on every matching event, leave out the count clause",
    ),
    (
        "count not whole",
        "rule r { when a == 1\n count 2.5 within 5m }",
        "fleet.rules:2:8: error: count must be a whole number, got 2.5\n"
        " count 2.5 within 5m }\n"
        "       ^^^",
    ),
    (
        "clash >",
        'rule r { when "a" > 3 }',
        "fleet.rules:1:19: error: cannot compare string with number using '>'\n"
        'rule r { when "a" > 3 }\n'
        "                  ^\n"
        "hint: the comparison is always false",
    ),
    (
        "clash ==",
        "rule r { when lower(name) == 3 }",
        "fleet.rules:1:27: error: cannot compare string with number using '=='\n"
        "rule r { when lower(name) == 3 }\n"
        "                          ^^\n"
        "hint: the comparison is always false",
    ),
    (
        "clash arith",
        'rule r { when speed + "km" > 3 }',
        "fleet.rules:1:28: error: cannot compare string with number using '>'\n"
        'rule r { when speed + "km" > 3 }\n'
        "                           ^\n"
        "hint: the comparison is always false",
    ),
    (
        "clash null order",
        "rule r { when speed > null }",
        "fleet.rules:1:21: error: '>' with null is always false\n"
        "rule r { when speed > null }\n"
        "                    ^\n"
        "hint: write '== null' or '!= null' to test for a missing value",
    ),
    (
        "clash bool order",
        "rule r { when speed > true }",
        "fleet.rules:1:21: error: '>' compares numbers or strings, not bools\n"
        "rule r { when speed > true }\n"
        "                    ^",
    ),
    (
        "clash in",
        "rule r { when speed in 5 }",
        "fleet.rules:1:21: error: 'in' needs a list or a string on its right, not a number\n"
        "rule r { when speed in 5 }\n"
        "                    ^^",
    ),
    (
        "clash fn arg",
        'rule r { when lower(5) == "x" }',
        "fleet.rules:1:21: error: lower() expects a string as argument 1, not a number\n"
        'rule r { when lower(5) == "x" }\n'
        "                    ^",
    ),
    (
        "macro self",
        "macro loop = loop and a == 1\nrule r { when loop }",
        "fleet.rules:1:7: error: macro 'loop' refers to itself\n"
        "macro loop = loop and a == 1\n"
        "      ^^^^",
    ),
    (
        "macro cycle",
        "macro a = b\nmacro b = c\nmacro c = a\nrule r { when a }",
        "fleet.rules:1:7: error: macro 'a' refers to itself (a -> b -> c -> a)\n"
        "macro a = b\n"
        "      ^",
    ),
    (
        "priority",
        "rule r { when a == 1\n priority critical }",
        "fleet.rules:2:11: error: unknown priority 'critical'\n"
        " priority critical }\n"
        "          ^^^^^^^^\n"
        "hint: use low, medium, high or urgent",
    ),
    (
        "priority close",
        "rule r { when a == 1\n priority hihg }",
        "fleet.rules:2:11: error: unknown priority 'hihg'\n"
        " priority hihg }\n"
        "          ^^^^\n"
        "hint: did you mean 'high'?",
    ),
    (
        "duplicate clause",
        "rule r {\n when a == 1\n when a == 2 }",
        "fleet.rules:3:2: error: duplicate 'when' clause (the first is on line 2)\n"
        " when a == 2 }\n"
        " ^^^^^^^^^^^",
    ),
    (
        "no when",
        "rule r { notify sms }",
        "fleet.rules:1:6: error: rule 'r' has no 'when' clause\nrule r { notify sms }\n     ^",
    ),
    (
        "field as condition",
        "rule r { when location.valid }",
        "fleet.rules:1:15: error: expected a condition, got the field 'location.valid'\n"
        "rule r { when location.valid }\n"
        "              ^^^^^^^^^^^^^^\n"
        "hint: compare it, such as location.valid == true, or test it with exists(location.valid)",
    ),
    (
        "number as condition",
        "rule r { when 1 + 2 }",
        "fleet.rules:1:15: error: expected a condition, got a number\n"
        "rule r { when 1 + 2 }\n"
        "              ^^^^^",
    ),
    (
        "duplicate name",
        "list x = [1]\nmacro x = a == 1\nrule r { when x }",
        "fleet.rules:2:7: error: duplicate name 'x': already defined as a list at fleet.rules:1:1\n"
        "macro x = a == 1\n"
        "      ^\n"
        "fleet.rules:3:15: error: 'x' is a list, not a condition\n"
        "rule r { when x }\n"
        "              ^\n"
        "hint: test membership, such as type in x",
    ),
    (
        "list non literal",
        "list x = [a, 1]\nrule r { when y in x }",
        "fleet.rules:1:11: error: a named list may hold only literal values (strings, numbers, true, false, null)\n"
        "list x = [a, 1]\n"
        "          ^",
    ),
    (
        "tz",
        'rule r { when hour("Europe/Berln") > 3 }',
        "fleet.rules:1:20: error: unknown time zone 'Europe/Berln'\n"
        'rule r { when hour("Europe/Berln") > 3 }\n'
        "                   ^^^^^^^^^^^^^^\n"
        "hint: did you mean 'Europe/Berlin'?",
    ),
    (
        "tz literal",
        "rule r { when hour(zone) > 3 }",
        'fleet.rules:1:20: error: the time zone must be a string literal, such as "Europe/Paris"\n'
        "rule r { when hour(zone) > 3 }\n"
        "                   ^^^^",
    ),
    (
        "geocell digits",
        "rule r { when a == 1\n suppress 1m by geocell(location, 9) }",
        "fleet.rules:2:35: error: geocell() digits must be a whole number from 0 to 6\n"
        " suppress 1m by geocell(location, 9) }\n"
        "                                  ^",
    ),
    (
        "division by zero",
        "rule r { when a / 0 > 1 }",
        "fleet.rules:1:19: error: division by zero\nrule r { when a / 0 > 1 }\n                  ^",
    ),
    (
        "duplicate channel",
        "rule r { when a == 1 notify sms, sms }",
        "fleet.rules:1:34: error: channel 'sms' is listed twice\n"
        "rule r { when a == 1 notify sms, sms }\n"
        "                                 ^^^",
    ),
    (
        "duplicate label",
        'rule r { when a == 1 labels { a = "1" a = "2" } }',
        "fleet.rules:1:39: error: duplicate label 'a'\n"
        'rule r { when a == 1 labels { a = "1" a = "2" } }\n'
        "                                      ^",
    ),
    (
        "number too large",
        "rule r { when x == " + "9" * 400 + " }",
        "fleet.rules:1:20: error: the number is too large\n"
        "rule r { when x == " + "9" * 400 + " }\n" + " " * 19 + "^" * 400 + "\n"
        "hint: numbers go up to about 1e308",
    ),
    (
        "negative number too large in a named list",
        "list l = [-" + "9" * 400 + "]\nrule r { when x in l }",
        "fleet.rules:1:11: error: the number is too large\n"
        "list l = [-" + "9" * 400 + "]\n" + " " * 10 + "^" * 401 + "\n"
        "hint: numbers go up to about 1e308",
    ),
    (
        "number with more digits than int() takes",
        "rule r { when x == " + "9" * 5000 + " }",
        "fleet.rules:1:20: error: the number is too large\n"
        "rule r { when x == " + "9" * 5000 + " }\n" + " " * 19 + "^" * 5000 + "\n"
        "hint: numbers go up to about 1e308",
    ),
    (
        "count with thousands of digits",
        "rule r { when a == 1\n count " + "9" * 5000 + " within 5m }",
        "fleet.rules:2:8: error: count must be at most 100000, got 999999999999...\n"
        " count " + "9" * 5000 + " within 5m }\n" + " " * 7 + "^" * 5000,
    ),
    (
        "duration too long",
        "rule r { when a == 1\n suppress 99999999999999d }",
        "fleet.rules:2:11: error: the duration is too long (100 years at most)\n"
        " suppress 99999999999999d }\n"
        "          ^^^^^^^^^^^^^^^",
    ),
    (
        "macro chain too deep",
        "".join(f"macro m{i} = m{i + 1} and x{i} == 1\n" for i in range(200))
        + "macro m200 = x == 1\nrule r { when m0 }",
        "fleet.rules:169:7: error: macro nesting deeper than 64: 'm168', with the macros it uses "
        "expanded, is nested too deeply\n"
        "macro m168 = m169 and x168 == 1\n"
        "      ^^^^\n"
        "hint: use fewer macros inside macros inside macros",
    ),
    (
        "macro too large",
        "macro m0 = a == 1\n"
        + "".join(f"macro m{i} = m{i - 1} or m{i - 1}\n" for i in range(1, 30))
        + "rule r { when m29 }",
        "fleet.rules:13:7: error: macro 'm12' is too large: with the macros it uses expanded, it "
        "has over 20000 parts\n"
        "macro m12 = m11 or m11\n"
        "      ^^^\n"
        "hint: each use of a macro copies it: a macro that uses another twice is twice as large",
    ),
    (
        "deep with macros",
        "macro m = " + "not " * 40 + "a == 1\nrule r { when " + "not " * 40 + "m }",
        "fleet.rules:2:15: error: the expression is nested too deeply with its macros expanded "
        "(over 64)\n"
        "rule r { when " + "not " * 40 + "m }\n" + " " * 14 + "^" * 161,
    ),
    (
        "deep key",
        "rule r { when a == 1\n suppress 1m by " + "-" * 70 + "a }",
        "fleet.rules:2:17: error: the expression is nested too deeply (over 64)\n"
        " suppress 1m by " + "-" * 70 + "a }\n" + " " * 16 + "^" * 71,
    ),
    (
        "list of lists",
        "list l = [" + "[" * 5000 + "]" * 5000 + "]\nrule r { when a in l }",
        "fleet.rules:1:11: error: a named list may hold only literal values (strings, numbers, "
        "true, false, null)\n"
        "list l = [" + "[" * 5000 + "]" * 5000 + "]\n" + " " * 10 + "^" * 10000,
    ),
    (
        "macro not list",
        "macro m = a == 1\nrule r { when x in m }",
        "fleet.rules:2:20: error: 'm' is a macro, not a list\n"
        "rule r { when x in m }\n"
        "                   ^",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_text(text: str, expected: str) -> None:
    with pytest.raises(RuleErrors) as info:
        compile_text(text, "fleet.rules", groups=GROUPS)
    assert info.value.format() == expected


def test_errors_in_every_rule_are_reported_not_only_the_first() -> None:
    text = (
        "rule a { when speed > }\n"
        "rule b { when saftey }\n"
        "rule c { when speed > 10 notify slak }\n"
        "rule d { when x && y }\n"
    )
    with pytest.raises(RuleErrors) as info:
        compile_text(text, "fleet.rules")
    assert [(e.line, e.message) for e in info.value.errors] == [
        (1, "unexpected '}', expected an expression"),
        (2, "unknown macro 'saftey'"),
        (3, "unknown channel 'slak'"),
        (4, "unexpected character '&'"),
    ]


def test_a_misspelt_item_keyword_after_a_broken_item_is_reported() -> None:
    text = (
        'list harsh = ["harsh_braking"]\n'
        "rule a {\n"
        "  when speed >\n"
        "}\n"
        "rule b { when x == 1 && y == 2 }\n"
        "rule c {\n"
        "  when x == 1\n"
        "  notfy sms\n"
        "}\n"
        "rul p {\n"
        "  when speed > 100\n"
        "}\n"
        "  macr m = x == 1\n"
        "lst l = [1]\n"
        "rule d { when kind in harsh }\n"
    )
    with pytest.raises(RuleErrors) as info:
        compile_text(text, "fleet.rules")
    assert [(e.line, e.column, e.message, e.suggestion) for e in info.value.errors] == [
        (4, 1, "unexpected '}', expected an expression", None),
        (5, 22, "unexpected character '&'", "write 'and' to combine conditions"),
        (
            8,
            3,
            "unexpected 'notfy', expected an operator, a clause or '}'",
            "did you mean 'notify'?",
        ),
        (10, 1, "unexpected 'rul', expected 'rule', 'list' or 'macro'", "did you mean 'rule'?"),
        (13, 3, "unexpected 'macr', expected 'rule', 'list' or 'macro'", "did you mean 'macro'?"),
        (14, 1, "unexpected 'lst', expected 'rule', 'list' or 'macro'", "did you mean 'list'?"),
    ]


def test_a_rule_cut_short_is_reported_where_the_next_item_starts() -> None:
    with pytest.raises(RuleErrors) as info:
        compile_text("rule a {\n  when x == 1\n\n  rul p { when y == 2 }\n", "fleet.rules")
    assert info.value.format() == (
        "fleet.rules:4:3: error: unexpected 'rul', expected 'rule', 'list' or 'macro'\n"
        "  rul p { when y == 2 }\n"
        "  ^^^\n"
        "hint: did you mean 'rule'?\n"
        "fleet.rules:4:3: error: unexpected 'rul', expected a clause or '}'\n"
        "  rul p { when y == 2 }\n"
        "  ^^^\n"
        "hint: is a closing '}' missing before this line?"
    )


def test_deeply_nested_expressions_are_refused_not_crashed() -> None:
    text = "rule r { when " + "not " * 70 + "a == 1 }"
    with pytest.raises(RuleErrors) as info:
        compile_text(text)
    assert info.value.errors[0].message == "the expression is nested too deeply (over 64)"
    (rule,) = compile_text("rule r { when " + "(" * 150 + "a == 1" + ")" * 150 + " }")
    assert rule.condition({"a": 1})


def test_recipient_groups_are_not_checked_without_a_list_of_them() -> None:
    (rule,) = compile_text("rule r { when a == 1 notify email(anyone) }", groups=None)
    assert rule.notify[0].groups == ("anyone",)


def test_negative_numbers_are_literals_in_a_named_list() -> None:
    (rule,) = compile_text("list temps = [-5, -10.5, 5m]\nrule r { when t in temps }")
    assert [rule.condition({"t": t}) for t in (-5, -10.5, 300, 5)] == [True, True, True, False]


def test_a_rule_python_cannot_compile_is_a_rule_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The checker's depth limit keeps this from happening; without it, Python refuses code
    # nested 200 parentheses deep, and that must be an error about the rule, not a crash.
    monkeypatch.setattr("alertd.dsl.resolve.MAX_DEPTH", 10_000)
    with pytest.raises(RuleErrors) as info:
        compile_text("# deep\nrule r { when " + "-" * 150 + "a == 1 }", "fleet.rules")
    assert info.value.format() == (
        "fleet.rules:2:1: error: rule 'r' is too complex to compile (too many nested "
        "parentheses)\n"
        "rule r { when " + "-" * 150 + "a == 1 }\n"
        "^\n"
        "hint: split its condition into simpler rules or macros"
    )


def test_a_rule_may_be_named_after_its_own_id() -> None:
    (rule,) = compile_text('rule speeding { when speed > 120\n name "speeding" }', "fleet.rules")
    assert rule.name == "speeding"
