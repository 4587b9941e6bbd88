"""pyinfra operations telework needs beyond pyinfra's own, written the way pyinfra writes them."""
