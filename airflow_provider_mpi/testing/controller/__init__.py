"""The emulated cluster's controllers: MPI operator, Job controller, kubelet and their loop."""
