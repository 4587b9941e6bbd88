"""The VPN role: concentrators (OpenVPN with certificate + TOTP, WireGuard) and the RADIUS
servers that check the second factor. Deploys: deploy/vpn_concentrator.py, deploy/auth_server.py.

* `people`       - who has access, their networks and tunnel addresses (the rules)
* `concentrator` - what one concentrator serves: clients, peers, pools, firewall groups
* `radius`       - what one RADIUS server serves: the concentrators asking, who may log in
* `render`       - rendering beyond templates (client-config-dir files, nftables elements)
* `secret_names` - where the role's secrets live in the secret store
* `pki`          - the VPN CA: certificates, CRL; `revocations` - the record of revoked access
* `enrolment`    - giving a person access (certificate, TOTP seed, bundle) and taking it away
* `facts`, `operations` - the role's own pyinfra facts and operations (WireGuard, pam_oath)
* `cli`, `lab_cli`, `person` - its commands, its lab check, its part of `person show`
* `vpncheck`, `lab_clients` - a real OpenVPN client in a lab home network
"""
