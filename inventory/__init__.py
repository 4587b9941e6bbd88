"""telework's inventory/ directory, shipped as package data (telework.resources); holds no code of its own."""
