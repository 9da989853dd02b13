"""SMS segment arithmetic: GSM-7 and UCS-2, one segment and split."""

from __future__ import annotations

from alertd.notify.sms_encoding import cap_sms


def test_gsm7_text_fits_160_septets_in_one_segment_and_153_per_split_segment() -> None:
    assert cap_sms("x" * 160, 1) == "x" * 160
    assert cap_sms("x" * 161, 1) == "x" * 157 + "..."
    assert cap_sms("x" * 306, 2) == "x" * 306
    assert cap_sms("x" * 307, 2) == "x" * 303 + "..."


def test_extension_characters_take_two_septets() -> None:
    assert cap_sms("{" * 100, 1) == "{" * 78 + "..."


def test_other_text_is_ucs2_70_units_in_one_segment_and_67_per_split_segment() -> None:
    assert cap_sms("✓" * 70, 1) == "✓" * 70
    assert cap_sms("✓" * 71, 1) == "✓" * 69 + "…"
    assert cap_sms("✓" * 134, 2) == "✓" * 134
    assert cap_sms("😀" * 35, 1) == "😀" * 35  # outside the BMP: two units each
    assert cap_sms("😀" * 36, 1) == "😀" * 34 + "…"
