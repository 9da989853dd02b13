"""How much SMS text fits in a number of segments: GSM-7 when every character has a septet, else
UCS-2 (3GPP TS 23.038, the way Twilio and the carriers count).

GSM-7 fits 160 septets in one segment and 153 per segment once a message is split (the rest
holds the header that joins the parts); a character of the extension table (`{`, `€`, ...)
takes two. Text with any other character is sent as UCS-2: 70 UTF-16 code units in one
segment, 67 per segment when split, a character outside the Basic Multilingual Plane (an
emoji) taking two.
"""

from __future__ import annotations

GSM7_SINGLE, GSM7_SPLIT = 160, 153
UCS2_SINGLE, UCS2_SPLIT = 70, 67

_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def _septets(char: str) -> int | None:
    """Septets a character takes in GSM-7, or None when the message needs UCS-2."""
    if char in _GSM7:
        return 1
    if char in _GSM7_EXTENDED:
        return 2
    return None


def cap_sms(text: str, max_segments: int) -> str:
    """Cut SMS text so it fits in `max_segments` segments, ending with an ellipsis when cut
    (`...` in GSM-7, where `…` has no septet; `…` in UCS-2)."""
    units = [_septets(c) for c in text]
    if all(u is not None for u in units):
        single, split, ellipsis = GSM7_SINGLE, GSM7_SPLIT, "..."
        sizes = [u or 0 for u in units]
    else:
        single, split, ellipsis = UCS2_SINGLE, UCS2_SPLIT, "…"
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    if sum(sizes) <= single:
        return text
    limit = split * max(1, max_segments) if max_segments > 1 else single
    if sum(sizes) <= limit:
        return text
    budget = limit - len(ellipsis)
    used = 0
    for index, size in enumerate(sizes):
        if used + size > budget:
            return text[:index] + ellipsis
        used += size
    return text


def cap_sms_ending(text: str, ending: str, max_segments: int) -> str:
    """`text` then `ending` on a line of its own, within `max_segments` segments: the text is
    cut (with an ellipsis) to make room, never the ending (an alert SMS's reply code)."""
    whole = f"{text}\n{ending}" if text else ending
    if cap_sms(whole, max_segments) == whole:
        return whole
    low, high = 0, len(text)  # the longest prefix of text that still fits with the ending
    while low < high:
        middle = (low + high + 1) // 2
        candidate = f"{text[:middle]}...\n{ending}"
        if cap_sms(candidate, max_segments) == candidate:
            low = middle
        else:
            high = middle - 1
    fitted = f"{text[:low].rstrip()}...\n{ending}" if low else ending
    return fitted if cap_sms(fitted, max_segments) == fitted else cap_sms(ending, max_segments)
