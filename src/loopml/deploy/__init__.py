"""Deployments and rollouts: canary with automated analysis, shadow, A/B with anytime-valid
statistics, blue-green and rollback."""

__all__: list[str] = []
