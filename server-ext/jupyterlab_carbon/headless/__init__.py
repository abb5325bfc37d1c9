"""``jupyter carbon ...`` without a server: run notebooks measured cell by cell, and report on the ledger.

The same meters, sampler and attribution as the server (through :mod:`..measurement`) run in
this process around each cell; the runs land in the same ledger, labelled ``headless``.
"""
