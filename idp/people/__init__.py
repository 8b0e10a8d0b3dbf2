"""The account owner's management of the people of their reseller account (one login per person)."""
