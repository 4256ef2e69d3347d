"""Kinesis Data Streams: streams, shards, records, iterators, resharding and consumers."""
