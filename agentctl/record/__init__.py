"""Recording runs: the SQLite journal, secret redaction, and OpenTelemetry traces."""
