"""Drift monitoring steps."""
