"""The model registry: version directories (`versions`), what counts as better (`promotion`), and
one champion per rule from the promotion log (`champions`).
"""
