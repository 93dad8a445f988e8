"""otters.snn.audit: the operation audit of a spiking BERT on real inputs (docs/audit.md).

``counts.py`` runs the converted network and counts every block's operations from its measured
activity; ``rules.py`` holds the counting rule of each kind of block; ``rows.py`` the typed result.
Source: Otters (ICLR 2026, arXiv 2509.18968), Prop. 1 and Sec. 3-4; Sorbet (ICML 2025).
"""

from otters.snn.audit.counts import audit_activity, audit_model, firing_populations
from otters.snn.audit.rows import ADC_PLACEMENTS, COUNT_KEYS, OP_KINDS, Audit, AuditRow, AuditSettings, int_type

__all__ = [
    "ADC_PLACEMENTS",
    "COUNT_KEYS",
    "OP_KINDS",
    "Audit",
    "AuditRow",
    "AuditSettings",
    "audit_activity",
    "audit_model",
    "firing_populations",
    "int_type",
]
