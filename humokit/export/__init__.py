"""humokit.export."""
