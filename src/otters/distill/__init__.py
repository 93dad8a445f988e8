"""Distillation of the spiking students from a fine-tuned teacher (Sorbet's staged recipe with Otters'
1-bit K/V and Matterhorn's coding), on the generic trainer of ``otters.train``."""
