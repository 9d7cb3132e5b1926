"""Pure welfare rules (福利). The domain work lands with its own issue; the service already
keeps the member directory it will check eligibility against."""
