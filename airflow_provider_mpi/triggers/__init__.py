"""Airflow triggers of the MPI provider."""
