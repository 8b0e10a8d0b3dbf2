"""Primitives for secrets: password hashing and random tokens."""
