"""Deployment: export a staged function as a standalone native library with a C API
(`st.export`), and the parameters file format it reads and writes."""
from .export import Export, ExportError, export
from .params import load_params, save_params

__all__ = ["export", "Export", "ExportError", "load_params", "save_params"]
