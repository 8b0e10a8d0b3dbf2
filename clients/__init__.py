"""Relying-party web apps that sign in through idp: the Resellers Control Panel and the Classic Reseller Interface."""
