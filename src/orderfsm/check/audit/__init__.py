"""``orderfsm audit``: judge exported status histories against a machine, at any size.

- :mod:`~orderfsm.check.audit.columns`: which columns are read; the row tuple engines share
- :mod:`~orderfsm.check.audit.reader`: CSV, JSON Lines and Parquet rows, bad input named
- :mod:`~orderfsm.check.audit.rules`: one change judged by the machine's pure core
- :mod:`~orderfsm.check.audit.parts`: the order's machine and its refunds' machine
- :mod:`~orderfsm.check.audit.stream`: the one-pass engine
- :mod:`~orderfsm.check.audit.sql`: the same audit as portable SQL (DuckDB, Spark)
- :mod:`~orderfsm.check.audit.duck`: the DuckDB engine running that SQL
- :mod:`~orderfsm.check.audit.dwell`: time: dwell statistics and overdue stays, defined once
- :mod:`~orderfsm.check.audit.dwell_sql`: the same as a portable SQL query of its own
- :mod:`~orderfsm.check.audit.result`: findings, counts, summary, JSON
- :mod:`~orderfsm.check.audit.run`: choosing the machine and engine for files

See ``docs/audit.md``.
"""

from orderfsm.check.audit.columns import Columns
from orderfsm.check.audit.reader import AuditInputError
from orderfsm.check.audit.result import AuditFinding, AuditResult
from orderfsm.check.audit.run import audit_files

__all__ = ["AuditFinding", "AuditInputError", "AuditResult", "Columns", "audit_files"]
