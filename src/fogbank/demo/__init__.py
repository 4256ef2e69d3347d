"""The main job, `fogbank demo`: generated data pushed through the whole pipeline."""
