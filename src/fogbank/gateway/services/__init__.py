"""One adapter per service: each AWS operation translated into one engine call."""
