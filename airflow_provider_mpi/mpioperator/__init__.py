"""The DRMAA2 job tracker over Kubeflow MPIJobs (imports kubernetes, never airflow)."""
