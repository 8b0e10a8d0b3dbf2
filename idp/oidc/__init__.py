"""The OpenID Connect protocol, on Authlib: grants, keys, claims, the interaction policy and the endpoints.

This package never checks a password; ``auth`` never builds a token. They meet through LoginSession and Interaction.
"""
