"""Secrets: age-encrypted beside the YAML, decrypted only where a deploy needs them.

* `store`  - the secret store (`telework secret ...`): names, kinds, recipients, values
* `redact` - the one redactor every output passes through
* `run`    - the secrets of one plan or apply: its redactor and its fingerprint key
"""
