"""Palette files: their shapes (`formats`: suffixes, headers, design tokens, stylesheets) and the
colour columns inside them (`parse`). Shared by scoring, human labels and the Python API.
"""
