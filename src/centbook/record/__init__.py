"""Recordings: every frame of a set of markets, exact, with receive times, in zstandard segments.

- :mod:`~centbook.record.segment`: the format (records, blocks, segments, indexes), its writer
  and readers;
- :mod:`~centbook.record.recorder`: :class:`Recorder`, frames from live feeds into a recording,
  with coverage and market metadata;
- :mod:`~centbook.record.markets`: :class:`MarketDirectory`, which markets to record and their
  REST metadata;
- :mod:`~centbook.record.importer`: captures (gzipped NDJSON) into a recording;
- :mod:`~centbook.record.exporter`: a recording to a hive-partitioned Parquet dataset.

Replaying a recording through the books is :mod:`centbook.replay`. Needs the ``[record]`` extra.
"""
from centbook.record.markets import MarketDirectory, MarketSelectionError
from centbook.record.recorder import Coverage, Recorder
from centbook.record.segment import Kind, Record, RecordingError, SegmentWriter, iter_records, segment_paths

__all__ = ["Coverage", "Kind", "MarketDirectory", "MarketSelectionError", "Record", "Recorder",
           "RecordingError", "SegmentWriter", "iter_records", "segment_paths"]
