"""alertd: a rule-driven, multi-channel alerting daemon for fleet telematics."""

__version__ = "0.1.0"
