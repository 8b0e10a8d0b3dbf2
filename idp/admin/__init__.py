"""The administrators' web console at /admin: accounts, users, OAuth clients and the audit trail."""
