"""Apache Airflow provider for MPI jobs on Kubernetes.

Layers, imports pointing down only (checked by import-linter, see setup.cfg):

* :mod:`airflow_provider_mpi.drmaa2`: the backend-neutral DRMAA2 model.
* :mod:`airflow_provider_mpi.mpioperator`: the DRMAA2 job tracker over
  Kubeflow ``MPIJob`` objects (``kubeflow.org/v2beta1``).
* ``hooks``, ``operators``, ``sensors``, ``triggers``: the Airflow faces.
* :mod:`airflow_provider_mpi.testing`: an emulated Kubernetes cluster with a
  simulated MPI operator, for tests and the demo. Runtime code never imports it.
"""

__version__ = "0.1.0"
