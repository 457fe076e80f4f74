"""Packaging and deployment of the production model with BentoML through ZenML's model deployer."""
