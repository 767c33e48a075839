"""Airflow hooks of the MPI provider."""
