"""Backend-neutral DRMAA2 model: templates, job info, states, the tracker protocol, errors."""
