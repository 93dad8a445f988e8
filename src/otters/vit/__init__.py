"""The A2OS2A spiking vision transformer: model, neurons, attention, image data, training, experiments.

- :mod:`~otters.vit.model`: ``SpikingViT`` (patch splitter, blocks, head) and its operation counts;
- :mod:`~otters.vit.attention`: the attention cores (A2OS2A and its ablations) and their presets;
- :mod:`~otters.vit.neurons`: multi-step binary, ternary and ReLU neurons (leaky integrate, fire, reset);
- :mod:`~otters.vit.data`: the image data sets (Fashion-MNIST, MNIST, digits, CIFAR) and their fixed splits;
- :mod:`~otters.vit.train`: training, evaluation and checkpoints; :mod:`~otters.vit.state`: resume;
- :mod:`~otters.vit.experiment`: seeds x attentions runs; :mod:`~otters.vit.ablation`: the table;
- :mod:`~otters.vit.budget`: the time estimate of a run; :mod:`~otters.vit.energy`: ACs/MACs -> energy.
"""
