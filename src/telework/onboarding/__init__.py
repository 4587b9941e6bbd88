"""Onboarding: what it takes to bring people into the home-office estate and hand them their access.

* `letters`    handover letters as PDF (one per person, and one batch for printing) with the
               QR code for the authenticator app; written 0600 outside any git work tree.
* `hr_import`  people from an HR export (CSV, LDIF) as a proposed change to the inventory:
               joiners, moves, leavers, with a report of every decision; `people_writer`
               applies an accepted change to the people YAML files line by line.

Texts of the letters are data: templates/onboarding/<language>.yml.
"""
