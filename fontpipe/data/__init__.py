"""Datasets: seeded generation of labelled rows (`generation`), the one owner of dataset
directories (`datasets`), and human labels from a palette file (`labels`).
"""
