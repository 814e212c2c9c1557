"""The reference CLM: a small external CLM that talks to clmsite only over HTTP (SPEC §10.1).

It is a Django project of its own (``python -m refclm <command>``), with its own storage,
settings and UI; it never imports clmsite's packages. docs/reference-clm.md describes it.
"""
