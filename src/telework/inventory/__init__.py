"""The inventory: YAML files -> a validated model, with every problem located.

* `model`      - one pydantic model per inventory object (also the JSON Schema's source)
* `source`, `yamlfast` - reading the YAML files, remembering where each value came from
* `loaded`     - an inventory as loaded: model, sources, problems
* `loading`    - `load_inventory` / `require_inventory`: schema check, then `validation`
* `validation` - cross-reference checks over the whole inventory
* `schema`     - the JSON Schema for editors
* `hosts`      - the hosts reached over SSH, with their groups and data; `overlay` - where
  an environment (the lab) reaches them instead
* `lookup`     - a person or device by name, with the closest names on a typo
* `report`     - summaries for `telework inventory show`; `generate` - synthetic inventories
* `organisation_repo` - `telework init`: an organisation repository from the sample
"""
