"""The SIP role: Kamailio as registrar and edge proxy, rtpengine as media relay, for the
city's numbers on desk phones and softphones at home. Deploy: deploy/sip_server.py.

* `server`       - what one SIP server serves: its subscribers (extension, DID), addresses, realm
* `render`       - HA1 digests and the subscriber table Kamailio loads (no clear password)
* `secret_names` - where the role keeps its secrets (SIP passwords, the server's TLS key)
* `keys`         - `telework sip init`: the missing SIP passwords and the server certificate
* `cli`          - its commands
* `lab_phones`   - real baresip phones in lab home networks behind their own NAT routers
"""
