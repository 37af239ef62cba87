"""humokit.avatars."""
