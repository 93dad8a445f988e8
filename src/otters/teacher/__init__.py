"""Fine-tuning of the full-precision teachers the spiking students are distilled from.

- :mod:`~otters.teacher.finetune`: ``finetune_teacher`` / ``ensure_teacher`` (cached, resumable);
- :mod:`~otters.teacher.settings`: per-task defaults; :mod:`~otters.teacher.cache`: where teachers live;
- :mod:`~otters.teacher.model`: the Hugging Face model; :mod:`~otters.teacher.report`: what it scores.
"""
