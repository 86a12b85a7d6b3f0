"""Units of measure shared by the formats (pure): symbols, physical dimensions, conversions.

A recipe value, a limit and a posting each carry their own unit; comparing two of them is only
meaningful within one dimension, and only after converting to a common unit (20 °C is not above a
high limit of 60 °F). Units nobody listed here keep their spelling and have no known dimension, so
no rule fires on them (a finding needs a fact, not a guess).
"""

from __future__ import annotations

SYMBOLS = {"degreecelsius": "°C", "deg_c": "°C", "degc": "°C", "grad celsius": "°C", "celsius": "°C",
           "degreefahrenheit": "°F", "deg_f": "°F", "degf": "°F", "fahrenheit": "°F", "kelvin": "K",
           "k": "K", "litre": "L", "liter": "L", "litres": "L", "liters": "L", "l": "L", "kilolitres": "kL",
           "kilolitre": "kL", "kiloliter": "kL", "millilitre": "mL", "milliliter": "mL", "ml": "mL",
           "second": "s", "seconds": "s", "sec": "s", "sekunde": "s", "sekunden": "s", "minute": "min",
           "minutes": "min", "min": "min", "hour": "h", "hours": "h", "hr": "h", "kilogram": "kg",
           "kilograms": "kg", "kilogramm": "kg", "gram": "g", "grams": "g", "tonne": "t", "percent": "%",
           "rev-per-min": "rpm", "umdrehungen pro minute": "rpm", "l-per-hr": "L/h", "bar": "bar",
           "pascal": "Pa", "pa": "Pa", "metre": "m", "meter": "m", "pound": "lb", "pounds": "lb"}
"""Spellings seen in recipes (SI digital framework URIs' last segment, German, plural) → symbol."""

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "mass": ("kg", "g", "mg", "t", "tonne", "tonnes", "lb", "lbs", "oz"),
    "volume": ("l", "ml", "hl", "kl", "m3", "m³", "gal", "bbl"),
    "count": ("ea", "pc", "pcs", "piece", "pieces", "parts", "count", "units", "st", "stk"),
    "time": ("h", "hr", "hrs", "hour", "hours", "min", "minutes", "s", "sec", "seconds", "ms"),
    "energy": ("kwh", "wh", "mwh", "j", "kj", "mj", "gj"),
    "ratio": ("%", "percent", "ppm"),
    "length": ("m", "mm", "cm", "km"),
    "temperature": ("°c", "degc", "°f", "degf", "k"),
    "pressure": ("bar", "mbar", "pa", "kpa", "psi"),
    "power": ("kw", "w", "mw"),
    "rotational speed": ("rpm", "1/min"),
}
"""Unit spellings (casefolded) by physical dimension; a unit not listed has no known dimension."""
_DIMENSION = {unit: dimension for dimension, units in DIMENSIONS.items() for unit in units}

_FACTORS = {"kg": 1.0, "g": 1e-3, "mg": 1e-6, "t": 1e3, "tonne": 1e3, "lb": 0.45359237, "oz": 0.028349523125,
            "l": 1.0, "ml": 1e-3, "hl": 100.0, "kl": 1e3, "m3": 1e3, "m³": 1e3,
            "h": 3600.0, "hr": 3600.0, "min": 60.0, "s": 1.0, "sec": 1.0, "ms": 1e-3,
            "kwh": 1.0, "wh": 1e-3, "mwh": 1e3, "%": 1.0, "ppm": 1e-4,
            "m": 1.0, "mm": 1e-3, "cm": 1e-2, "km": 1e3, "bar": 1e5, "mbar": 100.0, "pa": 1.0,
            "kpa": 1e3, "psi": 6894.757, "kw": 1e3, "w": 1.0, "mw": 1e6, "rpm": 1.0, "1/min": 1.0}
"""Linear units → factor to a base unit of their dimension."""


def symbol(unit: str) -> str:
    """``http://si-digital-framework.org/SI/units/degreeCelsius`` → ``°C``; unknown units kept;
    ``NULL``/``none`` (tools' way of saying "no unit") → ''."""
    text = unit.strip()
    if text.casefold() in ("null", "none", "n/a", "-", ""):
        return ""
    last = text.rstrip("/").rpartition("/")[2].rpartition("#")[2] if "://" in text or "#" in text else text
    return SYMBOLS.get(last.casefold(), SYMBOLS.get(text.casefold(), last or text))


def dimension(unit: str) -> str | None:
    """The physical dimension of a unit symbol or spelling, ``None`` when not known."""
    return _DIMENSION.get(symbol(unit).casefold()) or _DIMENSION.get(unit.strip().casefold())


def convert(value: float, unit: str, to: str) -> float | None:
    """``value`` in ``unit`` expressed in ``to``; ``None`` when the two cannot be converted."""
    source, target = symbol(unit).casefold(), symbol(to).casefold()
    if source == target:
        return value
    if dimension(source) != dimension(target) or dimension(source) is None:
        return None
    if dimension(source) == "temperature":
        kelvin = {"°c": value + 273.15, "degc": value + 273.15, "k": value,
                  "°f": (value - 32) * 5 / 9 + 273.15, "degf": (value - 32) * 5 / 9 + 273.15}.get(source)
        if kelvin is None:
            return None
        return {"°c": kelvin - 273.15, "degc": kelvin - 273.15, "k": kelvin,
                "°f": (kelvin - 273.15) * 9 / 5 + 32, "degf": (kelvin - 273.15) * 9 / 5 + 32}.get(target)
    if source in _FACTORS and target in _FACTORS:
        return value * _FACTORS[source] / _FACTORS[target]
    return None
