"""Training jobs: the SageMaker training lifecycle, run as local child processes."""
