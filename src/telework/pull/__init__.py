"""Pull mode: endpoints that are offline when CI runs (home-office notebooks) fetch a signed
bundle and apply it themselves.

* `bundle`     `telework pull build`: per endpoint, the deploy files, templates, group_data,
               the inventory without secrets, host data, a manifest with every file's sha256
               and an Ed25519 signature over it;
* `wheelhouse` pyinfra and telework's dependencies as wheels for the endpoint's venv;
* `signing`    the organisation's signing key (age-encrypted secret `pull/signing-key`);
* `agent`      the agent on the endpoint (stdlib + the venv's cryptography): fetch, verify,
               refuse downgrades, unpack, apply, report;
* `localrun`   applies an unpacked bundle with pyinfra on @local;
* `server`, `reports`  `telework pull serve` and `telework pull reports`.
"""
