"""Lab tests get the session `lab` fixture from tests/conftest.py (telework.lab.pytest_plugin)."""
