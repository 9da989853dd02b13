"""`alertd test-rule`: replay recorded events through rules, and run rule unit tests in YAML.

formats.py    JSON and YAML decoding with positions in every error (the one pyyaml import)
events.py     event files: NDJSON (streamed), a JSON array or a YAML list; `-` is stdin
replay.py     events through the engine, decisions to a report
report.py     the text table and the `--format json` lines
unittests.py  YAML rule unit tests: load, run, compare, report
render.py     the seam where the notifier shows what a fired alert would send
terminal.py   colour and progress, only when writing to a terminal
"""
