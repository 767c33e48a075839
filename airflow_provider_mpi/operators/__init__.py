"""Airflow operators of the MPI provider."""
