"""Example user inference programs (the SageMaker inference toolkit's handler convention)
that the hosting tests serve, and model.tar.gz builders for integration tests.

Each ``*.py`` here is a program as a user would write it; tests copy one into a model's
``code/`` directory (as the SageMaker SDK's repacked model.tar.gz carries it).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.preprocessing import StandardScaler

PROGRAMS = Path(__file__).resolve().parent


def program_source(name: str) -> bytes:
    """The source of the example program ``name`` (``scaler``, ``defaults``...)."""
    return (PROGRAMS / f"{name}.py").read_bytes()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def scaler_model_tar(features: np.ndarray) -> bytes:
    """A model.tar.gz (gzip tar) holding ``model.joblib``, a StandardScaler fitted on
    ``features``, and ``code/inference.py``, the scaler program: what the SageMaker SDK
    uploads for an SKLearnModel with ``entry_point="inference.py"``."""
    scaler = StandardScaler().fit(np.asarray(features, dtype=np.float64))
    model = io.BytesIO()
    joblib.dump(scaler, model)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        _add(archive, "model.joblib", model.getvalue())
        _add(archive, "code/inference.py", program_source("scaler"))
    return out.getvalue()
