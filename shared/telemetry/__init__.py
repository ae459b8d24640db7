"""Traces, metrics and run-id log correlation through OpenTelemetry (the API only: exporters are
chosen once at start by `shared.telemetry.setup`, and without them every call is a no-op)."""
