"""SageMaker hosting: models, endpoint configurations, and the serving app the built-in
algorithms answer inference requests with (the container contract: /ping, /invocations,
/execution-parameters)."""
