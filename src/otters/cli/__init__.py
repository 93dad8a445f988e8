"""The command-line interface: thin wrappers over library functions (see ``app.py``)."""
