"""Benchmarks against peers and the machine: each a script, ``python -m experiments.benchmarks.NAME``.

Every configuration runs in its own process; each writes ``results/NAME/``.
"""
