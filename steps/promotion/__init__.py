"""Promotion steps."""
