"""The import path ``centbook.wsreader``: the public names of :mod:`centbook.feed.reader`."""
from centbook.feed.reader import BookListener, CountingListener

__all__ = ["BookListener", "CountingListener"]
