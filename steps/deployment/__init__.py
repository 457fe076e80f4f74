"""Deployment steps."""
