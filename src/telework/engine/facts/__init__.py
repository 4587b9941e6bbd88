"""pyinfra facts telework needs beyond pyinfra's own, written the way pyinfra writes them.

Facts here never return a secret: files holding one are described by digests, never contents.
"""
