"""How a person proves who they are: the password login, the SSO session, logout."""
