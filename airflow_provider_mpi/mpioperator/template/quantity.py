"""Kubernetes resource quantities (``"500m"``, ``"1Gi"``): our grammar, the client's value.

The value of a quantity comes from the official client,
``kubernetes.utils.quantity.parse_quantity``. That function computes values
but does not check the grammar: it hands the number to :class:`decimal.Decimal`,
which also takes ``" 1"``, ``"1_000"``, ``"NaN"``, ``"Infinity"`` and
non-ASCII digits, and it accepts a suffix after an exponent (``"1e3k"``) and
a binary suffix on ``m``, ``u`` or ``n`` (``"1mi"``), all of which the API
server rejects. So the grammar of ``k8s.io/apimachinery/pkg/api/resource``
stays ours, a pure check (:func:`quantity_syntax_error`) that the extension
getters run at DAG-parse time without loading any client::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | "+" <number> | "-" <number>
    <number>          ::= <digits> | <digits> "." <digits> | <digits> "." | "." <digits>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>

Only :func:`parse_quantity`, which the converter calls to compare a request
with its limit, imports the client, inside the function: importing the
``kubernetes`` package loads its whole API client (about 0.3 s), and this
package must stay importable, and its getters callable, in a DAG file
without that cost. The import-linter contract on ``template`` names this one
import as its only exception.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["QuantityError", "is_negative_quantity", "parse_quantity", "quantity_syntax_error"]

_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:[KMGTPE]i|[eE](?P<exponent>[+-]?[0-9]+)|[numkMGTPE]?)",
    re.ASCII,
)
#: Exponents beyond this are certainly a typo; Kubernetes caps values far lower.
_MAX_EXPONENT = 100


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity; the message says why."""


def quantity_syntax_error(text: object) -> str | None:
    """Say why ``text`` is not a Kubernetes quantity (pure: no client is loaded).

    Args:
        text: the candidate.

    Returns:
        None when ``text`` is a quantity, else the reason.
    """
    if not isinstance(text, str):
        return f"a quantity must be a string, not {type(text).__name__}"
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return f"{text!r} is not a quantity (expected e.g. '2', '500m', '1Gi', '1e3')"
    exponent = match["exponent"]
    if exponent is not None and abs(int(exponent)) > _MAX_EXPONENT:
        return f"{text!r}: exponent {int(exponent)} is out of range"
    return None


def is_negative_quantity(text: str) -> bool:
    """Whether a quantity (already checked) is below zero, read from its spelling.

    Args:
        text: a string :func:`quantity_syntax_error` accepts.

    Returns:
        True for a ``-`` sign before a number that is not zero.
    """
    match = _QUANTITY.fullmatch(text)
    return match is not None and match["sign"] == "-" and match["number"].strip("0.") != ""


def parse_quantity(text: str) -> Decimal:
    """Parse a Kubernetes quantity into its exact value.

    Args:
        text: the quantity, e.g. ``"2"``, ``"500m"``, ``"1.5Gi"``, ``"12e6"``.

    Returns:
        The value as a Decimal (``"1Ki"`` is ``Decimal(1024)``), as the
        official client computes it.

    Raises:
        QuantityError: ``text`` is not a string in the quantity grammar.
    """
    if (error := quantity_syntax_error(text)) is not None:
        raise QuantityError(error)
    from kubernetes.utils.quantity import parse_quantity as client_parse_quantity

    value: Decimal = client_parse_quantity(text)
    return value
