"""Export stage: on-device model files (LiteRT, ONNX) with parity checks and a device report."""

from steps.export.export_model import export_model

__all__ = ["export_model"]
