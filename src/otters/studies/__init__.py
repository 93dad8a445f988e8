"""otters.studies: one library function per number the CLI and ``otters run`` print, called by both.

Layer: above data/train (it runs trained students and teachers), below pipeline/report and cli.

- :mod:`~otters.studies.inputs`: which student, tokenizer and real sentences a study runs on;
- :mod:`~otters.studies.device`: the firing schedule and the device demo (fit, schedule, exact coding);
- :mod:`~otters.studies.verify`: is the SNN lossless (Otters, ICLR 2026, Proposition 1), BERT or MLP;
- :mod:`~otters.studies.evaluation`: task metrics of a teacher, a student's QNN and its SNN;
- :mod:`~otters.studies.energy`: energy per inference of a student, the analytical table;
- :mod:`~otters.studies.audit`: operation counts of a student's spiking model;
- :mod:`~otters.studies.storage`: parameters and packed storage size of a student;
- :mod:`~otters.studies.sparsity`: silent neurons under TTFS / M-TTFS / dead zones (Matterhorn);
- :mod:`~otters.studies.robustness`: metrics on drawn chips, base vs HAT students;
- :mod:`~otters.studies.matterhorn_table`: Matterhorn's k table on a trained student;
- :mod:`~otters.studies.glue_table`: the GLUE table of the students' SNNs beside the published rows;
- :mod:`~otters.studies.predict`: one input at a time: label, probabilities, spikes, silent fraction, energy;
- :mod:`~otters.studies.vit`: accuracy, operations and energy of a trained spiking ViT.
"""
