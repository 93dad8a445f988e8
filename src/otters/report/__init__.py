"""otters.report: the run report (report.html, self-contained) and summary.json, from typed step results.

:func:`write_report` builds both from a run directory's settings and step results
(:mod:`otters.report.results`, recorded in run.json); :func:`build_summary` gives the numbers as a
:class:`RunSummary`, :func:`terminal_table` / :func:`terminal_commands` print them. See docs/run.md.
"""

from otters.report.build import FIGURE_IDS, ReportFiles, write_report
from otters.report.summary import RunSummary, build_summary, hat_comparison
from otters.report.terminal import machine_line, terminal_commands, terminal_table

__all__ = ["FIGURE_IDS", "ReportFiles", "RunSummary", "build_summary", "hat_comparison", "machine_line",
           "terminal_commands", "terminal_table", "write_report"]
