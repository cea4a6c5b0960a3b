"""Evaluation: pure metrics, evaluating a saved version, and the HTML report."""
