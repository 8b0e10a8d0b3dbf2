"""Self-service for a signed-in user: the security settings, enrolling and disabling second factors, recovery codes."""
