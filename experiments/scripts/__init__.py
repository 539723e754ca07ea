"""Maintenance scripts: reference-model training (shell, for a GPU or the CPU), report generators.

Python ones run as ``python -m experiments.scripts.NAME`` from the checkout.
"""
