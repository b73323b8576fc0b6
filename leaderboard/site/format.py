"""Small formatting helpers of the site: numbers and p-values as shown, sort keys, safe links, file-safe slugs."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from benchmark.numbers import fixed


def safe_url(url: Any) -> str | None:
    """``url`` when it is an absolute http(s) link, else None (javascript:, data:, relative, ... dropped)."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def slugify(text: str) -> str:
    """A file-name-safe slug; a hash suffix keeps distinct names distinct when characters were replaced."""
    slug = re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._") or "x"
    if slug != text:
        slug = f"{slug[:60]}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"
    return slug


def number(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float) and math.isinf(v):  # e.g. Iman–Davenport F when every block ranks alike
        return "∞" if v > 0 else "−∞"
    return fixed(float(v), digits)  # the rounding rule of `report` too (benchmark.numbers)


def sort_value(v: Any) -> str:
    """A sort key for ``data-value`` (empty for missing)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return repr(float(v))


def p_value(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_equals(p: Any) -> str:
    """``= 0.042`` / ``< 0.001`` / ``n/a``, to follow a 'p'."""
    text = p_value(p)
    return text if text.startswith("<") else ("n/a" if text == "n/a" else f"= {text}")


def unique_slugs(names: Sequence[str], base: Callable[[str], str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in names:
        slug = slugify(base(n))
        if slug.lower() in used:
            slug = f"{slug}-{hashlib.sha1(n.encode()).hexdigest()[:6]}"
        used.add(slug.lower())
        out[n] = slug
    return out
