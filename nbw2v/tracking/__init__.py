"""Tracking: the one MLflow adapter (Tracker), its offline journal and replay, run liveness,
secret redaction, the logged pyfunc model."""
