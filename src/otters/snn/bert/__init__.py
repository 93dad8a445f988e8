"""otters.snn.bert: the spiking BERT (Otters, ICLR 2026, arXiv 2509.18968, Proposition 1 and Sec. 3).

``model.py`` (the forward read as its windows), ``attention.py`` (Q.K^T and P.V against the stored
1-bit or 4-bit K/V), ``stages.py`` (firing populations and static-weight stages), ``convert.py``
(built from a calibrated QBert student; the entry is ``otters.snn.convert``), ``observer.py`` and
``activity.py`` (what a forward reports and what is counted), ``verify.py`` (stage by stage against
the student's integer inference; the entry is ``otters.snn.verify``).
"""

from otters.snn.bert.activity import BertActivity
from otters.snn.bert.model import SpikingBert, SpikingBertOutput, SpikingLayer, iter_batches
from otters.snn.bert.observer import ForwardObserver, ObserverGroup, StageRecorder
from otters.snn.bert.verify import verify_bert

__all__ = [
    "BertActivity",
    "ForwardObserver",
    "ObserverGroup",
    "SpikingBert",
    "SpikingBertOutput",
    "SpikingLayer",
    "StageRecorder",
    "iter_batches",
    "verify_bert",
]
