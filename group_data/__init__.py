"""telework's group_data/ directory, shipped as package data (telework.resources); holds no code of its own."""
