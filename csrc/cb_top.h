/* The order book's cached best-level tuples, (price_bp, size). */
#ifndef CB_TOP_H
#define CB_TOP_H

#include <Python.h>

/* Make *cache the tuple (price, size), or NULL when price is NULL (the side is empty).
 *
 * `price` is borrowed (the book's table of price objects). When the book holds the only reference
 * to the cached tuple, nobody can see it change, so its two items are replaced in place instead of
 * building a new tuple (CPython's zip and enumerate reuse their result tuples the same way). A
 * caller that kept the old tuple holds a reference, so it gets a new one and its own stays as it
 * was. Returns 0, or -1 with MemoryError set (the cache is then unchanged). */
static inline int cb_top_set(PyObject **cache, PyObject *price, long long size)
{
    PyObject *t = *cache, *s, *old_price, *old_size;
    if (price == NULL) {
        *cache = NULL;
        Py_XDECREF(t);
        return 0;
    }
    s = PyLong_FromLongLong(size);
    if (s == NULL)
        return -1;
#if !defined(Py_GIL_DISABLED) && PY_VERSION_HEX < 0x030E0000
    /* Not on free-threaded builds (a reference count is not the whole story there), nor from
     * Python 3.14 on, whose tuples may cache their hash. */
    if (t != NULL && Py_REFCNT(t) == 1) {
        old_price = PyTuple_GET_ITEM(t, 0);
        old_size = PyTuple_GET_ITEM(t, 1);
        Py_INCREF(price);
        PyTuple_SET_ITEM(t, 0, price);
        PyTuple_SET_ITEM(t, 1, s);
        Py_DECREF(old_price);
        Py_DECREF(old_size);
        return 0;
    }
#endif
    t = PyTuple_New(2);
    if (t == NULL) {
        Py_DECREF(s);
        return -1;
    }
    Py_INCREF(price);
    PyTuple_SET_ITEM(t, 0, price);
    PyTuple_SET_ITEM(t, 1, s);
    old_price = *cache;  /* the old tuple (callers may still hold it) */
    *cache = t;
    Py_XDECREF(old_price);
    return 0;
}

#endif
