"""An emulated Kubernetes cluster with a simulated Kubeflow MPI operator, for tests and demos."""
