"""Exact conversion between Kalshi's decimal strings and centbook's integer units.

Prices are integer basis points of $1 (``"0.9600"`` -> 9600), sizes integer hundredths of a
contract (``"-54.00"`` -> -5400) and money integer micro-dollars (``"0.010000"`` -> 10000). The
parsing is done by the C code in ``csrc/cb_fixed.h``; no value ever passes through a float, and an
input that the unit cannot hold exactly is refused, never rounded.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int32_t, int64_t

from centbook.cb cimport (
    CB_E_DECIMALS, CB_E_EMPTY, CB_E_RANGE, CB_E_SIGN, CB_OK, cb_format_money,
    cb_format_price, cb_format_size, cb_parse_money, cb_parse_price_bp, cb_parse_size,
)

__all__ = [
    "parse_price_bp", "parse_size", "parse_money", "format_price", "format_size",
    "format_money",
]


cdef const char *_text(object text, Py_ssize_t *n) except NULL:
    if isinstance(text, str):
        return PyUnicode_AsUTF8AndSize(text, n)
    if isinstance(text, bytes):
        n[0] = PyBytes_GET_SIZE(text)
        return PyBytes_AS_STRING(text)
    raise TypeError(f"expected a decimal string (str or bytes), got {type(text).__name__}: {text!r}")


cdef str _why(int rc, str unit):
    if rc == CB_E_EMPTY:
        return "empty string"
    if rc == CB_E_DECIMALS:
        return f"more decimals than a {unit} holds"
    if rc == CB_E_RANGE:
        return f"out of range for a {unit}"
    if rc == CB_E_SIGN:
        return f"a {unit} has no sign"
    return "not a decimal number"


cdef int32_t price_bp_from(object text) except -1:
    cdef Py_ssize_t n
    cdef const char *s = _text(text, &n)
    cdef int32_t out
    cdef int rc = cb_parse_price_bp(s, <size_t>n, &out)
    if rc != CB_OK:
        raise ValueError(f"invalid price {text!r}: {_why(rc, 'price (0 to 1 dollar, 4 decimals)')}")
    return out


cdef int64_t size_from(object text) except? -1:
    cdef Py_ssize_t n
    cdef const char *s = _text(text, &n)
    cdef int64_t out
    cdef int rc = cb_parse_size(s, <size_t>n, &out)
    if rc != CB_OK:
        raise ValueError(f"invalid size {text!r}: {_why(rc, 'size (2 decimals)')}")
    return out


cdef int64_t money_from(object text) except? -1:
    cdef Py_ssize_t n
    cdef const char *s = _text(text, &n)
    cdef int64_t out
    cdef int rc = cb_parse_money(s, <size_t>n, &out)
    if rc != CB_OK:
        raise ValueError(f"invalid amount {text!r}: {_why(rc, 'money amount (6 decimals)')}")
    return out


def parse_price_bp(text):
    """Parse a dollar price string into integer basis points.

    Parameters
    ----------
    text : str or bytes
        ``"1"``, ``"0.96"``, ``"0.960"`` or ``"0.9600"``: 0 to 4 decimals, no sign, at most $1.

    Returns
    -------
    int
        The price in basis points of $1, 0 to 10000.

    Raises
    ------
    ValueError
        If the text is empty, has more than 4 decimals, a sign or a stray character, or is above $1.
    """
    return price_bp_from(text)


def parse_size(text):
    """Parse a contract count (``"13.5"``, ``"-54.00"``) into integer hundredths of a contract.

    Parameters
    ----------
    text : str or bytes
        An optional sign, digits, and 0 to 2 decimals.

    Returns
    -------
    int
        The size in hundredths of a contract.

    Raises
    ------
    ValueError
        If the text is not such a number or has more than 2 decimals.
    """
    return size_from(text)


def parse_money(text):
    """Parse a dollar amount (``"0.010000"``, ``"-12.5"``) into integer micro-dollars.

    Parameters
    ----------
    text : str or bytes
        An optional sign, digits, and 0 to 6 decimals.

    Returns
    -------
    int
        The amount in micro-dollars (1e-6 dollar).

    Raises
    ------
    ValueError
        If the text is not such a number or has more than 6 decimals.
    """
    return money_from(text)


def format_price(int32_t price_bp):
    """Format basis points as Kalshi's 4-decimal dollar string (9600 -> ``"0.9600"``).

    Raises
    ------
    ValueError
        If the price is outside 0..10000.
    """
    cdef char buf[32]
    if price_bp < 0 or price_bp > 10000:
        raise ValueError(f"price {price_bp} bp is outside 0..10000")
    return buf[:cb_format_price(price_bp, buf)].decode("ascii")


def format_size(int64_t size):
    """Format hundredths of a contract as Kalshi's 2-decimal string (-5400 -> ``"-54.00"``)."""
    cdef char buf[32]
    return buf[:cb_format_size(size, buf)].decode("ascii")


def format_money(int64_t micro):
    """Format micro-dollars as a 6-decimal dollar string (10000 -> ``"0.010000"``)."""
    cdef char buf[32]
    return buf[:cb_format_money(micro, buf)].decode("ascii")
