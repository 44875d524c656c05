"""Shared fixtures live in tests/fixtures; this file only registers them."""

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.homes",
    "tests.fixtures.cli",
    "tests.fixtures.s3",
]
