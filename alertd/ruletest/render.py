"""The seam between `test-rule --render` and the notifier.

`notification_preview(settings)` returns a function that turns one fired alert into the
notifications it would send, rendered exactly as the channels would send them. It is built once
per run, so the templates are loaded and compiled once; it raises alertd.notify's TemplateError
when they do not compile.
"""

from __future__ import annotations

from alertd.notify.preview import Preview, notification_preview

__all__ = ["Preview", "notification_preview"]
