"""Firehose delivery streams: durable buffering and delivery into the lake."""
