"""Talking to the Kubernetes API: request descriptors and two thin transports.

- :mod:`.requests`: every request the tracker sends, spelled once as a frozen
  :class:`~.requests.Request` (verb, path, query, body, and what retrying and
  translating it needs). Pure.
- :mod:`.retry`: when and how long to wait before a retry (pure policy).
- :mod:`.translate`: client-library exceptions into the DRMAA2 errors.
- :mod:`.sync` (``kubernetes``) and :mod:`.aio` (``kubernetes_asyncio``): the
  transports. They send a request, read its JSON (or text, or lines),
  translate errors and retry idempotent requests; nothing else.
- :mod:`.kubeconfig`: a ``kubernetes`` ApiClient from a kubeconfig.

This package's ``__init__`` imports nothing, so the pure modules stay pure.
"""
