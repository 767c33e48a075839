"""Kubernetes resource quantities (``"500m"``, ``"1Gi"``, ``"1e3"``), parsed exactly.

The converter must reject a bad ``resourceRequestWorker-memory`` before it
builds a manifest, with the extension name and the value in the message; a
real API server would answer with a 422 only after the job was half set up
(or, for the CRD's embedded pod templates, with an opaque pattern error).
The grammar is the one of ``k8s.io/apimachinery/pkg/api/resource``::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | "+" <number> | "-" <number>
    <number>          ::= <digits> | <digits> "." <digits> | <digits> "." | "." <digits>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>

Values are :class:`decimal.Decimal` so that ``"0.1"`` and ``"100m"`` compare
equal and limits can be checked against requests without rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

__all__ = ["QuantityError", "parse_quantity"]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>[KMGTPE]i|[eE][+-]?[0-9]+|[mkMGTPE]?)"
)
#: Exponents beyond this are certainly a typo; Kubernetes caps values far lower.
_MAX_EXPONENT = 100


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity; the message says why."""


def parse_quantity(text: str) -> Decimal:
    """Parse a Kubernetes quantity into its exact value.

    Args:
        text: the quantity, e.g. ``"2"``, ``"500m"``, ``"1.5Gi"``, ``"12e6"``.

    Returns:
        The value as a Decimal (``"1Ki"`` is ``Decimal(1024)``).

    Raises:
        QuantityError: ``text`` is not a string in the quantity grammar.
    """
    if not isinstance(text, str):
        raise QuantityError(f"a quantity must be a string, not {type(text).__name__}")
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(f"{text!r} is not a quantity (expected e.g. '2', '500m', '1Gi', '1e3')")
    number = Decimal(match["number"])
    if match["sign"] == "-":
        number = -number
    suffix = match["suffix"]
    with localcontext() as ctx:
        ctx.prec = 200
        if suffix in _BINARY:
            return number * _BINARY[suffix]
        if suffix[:1] in ("e", "E") and len(suffix) > 1:
            exponent = int(suffix[1:])
        else:
            exponent = _DECIMAL[suffix]
        if abs(exponent) > _MAX_EXPONENT:
            raise QuantityError(f"{text!r}: exponent {exponent} is out of range")
        return number.scaleb(exponent)
