"""Java's ``String.format`` as Trino's ``format()`` uses it, for a DuckDB Python UDF."""

from __future__ import annotations

import calendar
import datetime as dt
import decimal
import re

# --------------------------------------------------------------------- Java's String.format
_SPEC = re.compile(
    r"%(?:(?P<index>\d+\$|<)?(?P<flags>[-#+ 0,(]*)(?P<width>\d+)?(?:\.(?P<prec>\d+))?"
    r"(?P<conv>[tT][A-Za-z]|[bBhHsScCdoxXeEfgGaA%n]))"
)
_INTEGRAL = ("integer", "bigint", "smallint", "tinyint", "hugeint")


def _java_double(value: float) -> str:
    """``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE±n`` (shortest digits)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    text = repr(value)
    if "e" not in text and abs(value) >= 1e7:  # below 1e16 repr is plain, the shortest digits
        whole, _, fraction = text.lstrip("-").partition(".")
        digits = (whole + fraction).rstrip("0")
        mantissa = digits[0] + "." + (digits[1:] or "0")
        return ("-" if value < 0 else "") + f"{mantissa}E{len(whole) - 1}"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{len(text) - 1 + int(exponent)}"


def _java_hash(text: str) -> int:
    h = 0
    for ch in text:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h


def _parse_arg(text: str | None, kind: str) -> object:
    """The Java object Trino hands to the formatter for a value of this DuckDB type."""
    if text is None:
        return None
    upper = kind.upper()
    if upper in ("INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return int(text)
    if upper in ("DOUBLE", "FLOAT"):
        return float(text)
    if upper.startswith("DECIMAL"):
        return decimal.Decimal(text)
    if upper == "BOOLEAN":
        return text == "true"
    if upper == "DATE":
        return dt.date.fromisoformat(text)
    if upper.startswith("TIMESTAMP"):
        return dt.datetime.fromisoformat(text)
    return text


def _java_string(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, dt.datetime):
        text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return text[:-3] if text.endswith(":00") and not value.microsecond else text
    return str(value)


def _group(digits: str) -> str:
    head, _, tail = digits.partition(".")
    head = f"{int(head):,}" if head else head
    return head + ("." + tail if tail else "")


def _number(value: object, conv: str, flags: str, prec: int | None) -> str:
    if conv in "dox":
        number = int(value)  # type: ignore[arg-type]
        if conv == "d":
            body = _group(str(abs(number))) if "," in flags else str(abs(number))
        else:
            raw = number if number >= 0 else number + (1 << 64)
            body = format(raw, "o" if conv == "o" else "x")
            if "#" in flags:
                body = ("0" if conv == "o" else "0x") + body
            return body
    else:
        exact = value if isinstance(value, decimal.Decimal) else decimal.Decimal(repr(value))
        number = exact
        places = 6 if prec is None else prec
        if conv == "f":
            q = abs(exact).quantize(decimal.Decimal(1).scaleb(-places), decimal.ROUND_HALF_UP)
            body = _group(f"{q:f}") if "," in flags else f"{q:f}"
        elif conv == "e":
            body = f"{abs(exact):.{places}e}"
        else:  # g: Java never strips trailing zeros
            places = places or 1
            mag = abs(exact)
            if mag != 0 and (mag < decimal.Decimal("1e-4") or mag >= 10**places):
                body = f"{mag:.{places - 1}e}"
            else:
                digits_before = len(str(int(mag))) if mag >= 1 else 1
                body = f"{mag:.{max(places - digits_before, 0)}f}"
    negative = number < 0
    if negative:
        return f"({body})" if "(" in flags else "-" + body
    if "+" in flags:
        return "+" + body
    return " " + body if " " in flags else body


def _datetime_part(value: object, code: str) -> str:
    if isinstance(value, int):
        value = dt.datetime.fromtimestamp(value / 1000, dt.UTC).replace(tzinfo=None)
    if not isinstance(value, (dt.date, dt.datetime)):
        raise ValueError(f"Illegal format conversion: t{code} on {value!r}")
    d = value
    h = getattr(d, "hour", 0)
    m = getattr(d, "minute", 0)
    s = getattr(d, "second", 0)
    us = getattr(d, "microsecond", 0)
    table = {
        "Y": f"{d.year:04d}",
        "y": f"{d.year % 100:02d}",
        "C": f"{d.year // 100:02d}",
        "m": f"{d.month:02d}",
        "B": calendar.month_name[d.month],
        "b": calendar.month_abbr[d.month],
        "h": calendar.month_abbr[d.month],
        "d": f"{d.day:02d}",
        "e": str(d.day),
        "A": calendar.day_name[d.weekday()],
        "a": calendar.day_abbr[d.weekday()],
        "j": f"{d.timetuple().tm_yday:03d}",
        "H": f"{h:02d}",
        "k": str(h),
        "I": f"{(h % 12) or 12:02d}",
        "l": str((h % 12) or 12),
        "M": f"{m:02d}",
        "S": f"{s:02d}",
        "L": f"{us // 1000:03d}",
        "N": f"{us * 1000:09d}",
        "p": "am" if h < 12 else "pm",
        "Z": "UTC",
        "z": "+0000",
    }
    composite = {
        "R": "%tH:%tM",
        "T": "%tH:%tM:%tS",
        "r": "%tI:%tM:%tS %Tp",
        "D": "%tm/%td/%ty",
        "F": "%tY-%tm-%td",
        "c": "%ta %tb %td %tT %tZ %tY",
    }
    if code in composite:
        return java_format(composite[code].replace("%t", "%1$t").replace("%T", "%1$T"), [d])
    if code not in table:
        raise ValueError(f"Unknown format conversion: t{code}")
    return table[code]


def java_format(fmt: str, args: list[object]) -> str:
    """``String.format(fmt, args)`` for the conversions Trino users write."""
    out, pos, ordinary, last = [], 0, 0, -1
    for match in _SPEC.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        conv, flags = match.group("conv"), match.group("flags")
        width = int(match.group("width") or 0)
        prec = None if match.group("prec") is None else int(match.group("prec"))
        if conv in "%n":
            text = "%" if conv == "%" else "\n"
        else:
            index = match.group("index")
            if index == "<":
                slot = last
            elif index:
                slot = int(index[:-1]) - 1
            else:
                slot, ordinary = ordinary, ordinary + 1
            if slot < 0 or slot >= len(args):
                raise ValueError(f"Missing format argument for '{match.group(0)}'")
            last, value = slot, args[slot]
            lower = conv.lower()
            if value is None and lower not in "bs":
                text = "null"
            elif lower[0] == "t":
                text = _datetime_part(value, conv[1])
            elif lower == "b":
                text = "false" if value is None else ("true" if value is not False else "false")
            elif lower == "s":
                text = _java_string(value)
            elif lower == "h":
                text = format(_java_hash(_java_string(value)), "x")
            elif lower == "c":
                text = chr(value) if isinstance(value, int) else str(value)[:1]
            elif lower in "doxefg":
                text = _number(value, lower, flags, prec)
                if "0" in flags and "-" not in flags and len(text) < width:
                    sign = text[0] if text[0] in "+- (" else ""
                    text = sign + text[len(sign) :].rjust(width - len(sign), "0")
            else:
                raise ValueError(f"Unsupported format conversion '{conv}'")
            if prec is not None and lower in "sbh":
                text = text[:prec]
            if conv.isupper():
                text = text.upper()
        out.append(text.ljust(width) if "-" in flags else text.rjust(width))
    out.append(fmt[pos:])
    return "".join(out)


def trino_format(fmt: str, values: list[str | None], kinds: list[str]) -> str:
    """The UDF: arguments arrive as text with their DuckDB type names."""
    return java_format(fmt, [_parse_arg(v, k) for v, k in zip(values, kinds, strict=True)])
