"""humokit.video: video diffusion models driven by humokit (drive, multi-view camera adapters)."""
