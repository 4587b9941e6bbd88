"""Lab tests get the session `lab` fixture (until tests/conftest.py lists the plugin itself)."""

from telework.lab.pytest_plugin import lab  # noqa: F401
