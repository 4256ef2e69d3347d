"""SageMaker on one machine: data formats, the built-in algorithms, training jobs.

- :mod:`fogbank.ml.formats`: the content types SageMaker's algorithms read and write
  (text/csv, text/libsvm, application/x-recordio-protobuf, JSON lines, instances JSON);
- :mod:`fogbank.ml.algorithms`: one module per built-in algorithm, each declaring its
  hyperparameters as data and registering itself;
- :mod:`fogbank.ml.training`: training jobs, run as child processes that see the
  SageMaker container layout (``/opt/ml``) rooted in the job's own folder.

Heavy libraries (PyTorch, XGBoost) are imported only inside the process that trains.
"""
