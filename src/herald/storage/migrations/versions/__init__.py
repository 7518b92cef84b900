"""Herald's schema revisions, oldest first."""
