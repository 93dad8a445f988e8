"""otters.report: the run report (report.html, self-contained) and summary.json.

:func:`write_report` builds both from a run directory's step files; :func:`build_summary` and
:func:`terminal_table` give the numbers as a dict and as a rich table. See docs/run.md.
"""

from otters.report.build import FIGURE_IDS, write_report
from otters.report.summary import build_summary, hat_comparison, machine_line, terminal_commands, terminal_table

__all__ = ["FIGURE_IDS", "build_summary", "hat_comparison", "machine_line", "terminal_commands", "terminal_table",
           "write_report"]
