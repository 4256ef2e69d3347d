"""Shared ground for every service: config, errors, clock, ids and the control-plane store."""
