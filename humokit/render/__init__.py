"""humokit.render."""
