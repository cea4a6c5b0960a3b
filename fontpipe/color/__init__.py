"""Colour science: the CSS colour grammar (`css`), gamut mapping (`gamut`), the labelling rules and
contrast (`rules`), and the 24-bit cube (`cube`). Pure numpy; no files, no models.
"""
