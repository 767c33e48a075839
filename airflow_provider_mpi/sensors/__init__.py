"""Airflow sensors of the MPI provider."""
