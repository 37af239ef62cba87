"""humokit.optim."""
