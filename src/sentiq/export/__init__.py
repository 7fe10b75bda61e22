"""Exports of trained model directories to other runtimes (ONNX Runtime)."""

from sentiq.export.onnx import ExportResult, export_onnx

__all__ = ["ExportResult", "export_onnx"]
