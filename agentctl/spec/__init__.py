"""The spec layer: files on disk to validated pydantic models, with every error located."""
