"""Predicting a cell before it runs: its own history, its FLOPs, this node's calibration, hardware priors.

Also the training-run calculator for runs too big for this node. Nothing here imports tornado or
the server: the kernel's ``%carbon estimate`` uses the calculator directly.
"""
