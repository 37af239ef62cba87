"""humokit.viewer."""
