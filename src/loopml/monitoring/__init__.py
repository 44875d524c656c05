"""Monitoring: drift statistics with calibrated thresholds, live and estimated performance,
alerts, Prometheus rules and Grafana dashboards."""

__all__: list[str] = []
