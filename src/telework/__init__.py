"""telework: the home-office estate of a public administration as one versioned inventory."""

__version__ = "0.1.0"
