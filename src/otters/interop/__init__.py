"""otters among its neighbours: NIR export / import of spiking networks (``otters.interop.nir``) and
Hugging Face-style student models with model cards (``otters.interop.hub``).

Layer: above ``studies`` (it uses the library functions there); nothing below imports it.
"""
