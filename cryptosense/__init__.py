"""Cryptosense application wiring: the command line and the long-running service."""

__version__ = "0.1.0"
