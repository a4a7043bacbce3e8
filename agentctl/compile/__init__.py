"""The compile layer: validated spec models to a frozen, checked execution graph (ir.py)."""
