"""Experiments: the evidence of what formula pre-training buys, each a plan of normal training runs."""
