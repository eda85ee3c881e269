"""Fixtures of the collector tests; tests/collect/collect_support.py defines them."""

from tests.collect.collect_support import aws_env, moto_url, proxy

__all__ = ["aws_env", "moto_url", "proxy"]
