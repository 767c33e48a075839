"""The "MPI Jobs" pages inside Airflow: a provider plugin (``airflow.plugins`` entry point).

See :mod:`airflow_provider_mpi.plugins.mpi_jobs` for the plugin and
:mod:`airflow_provider_mpi.plugins.app` for its pages and JSON API.
"""
