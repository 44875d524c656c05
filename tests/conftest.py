"""Shared fixtures live in tests/fixtures; this file registers them and sets test-wide env."""

import os

# Tests run in parallel xdist workers on small machines: one native thread per process
# (OpenMP, BLAS) avoids oversubscription, where spin-waiting threads make a 0.5 s model fit
# take a minute. Subprocesses (the real CLI) inherit these.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.homes",
    "tests.fixtures.cli",
    "tests.fixtures.s3",
    "tests.fixtures.artifact_server",
    "tests.fixtures.mlflow_models",
]
