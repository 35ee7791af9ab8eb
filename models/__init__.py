"""The pure domain of copflow: charter schema, tables, lifecycle, rota and health rules.

Nothing in this package performs I/O or imports Prefect.
"""
