#!/bin/sh
# An example fulfiller: itsm runs it with the request as JSON on standard input,
#   {"request": "REQ0000001", "offering": "network.dns-record", "requester": "checkout",
#    "urgency": "medium", "inputs": {"name": "...", "type": "A", "value": "..."}}
# Exit 0 and print a note for the requester on success; exit non-zero (and say why on
# standard error) to hand the request to a person.
set -eu
request=$(cat)
echo "DNS record created (request: $request)" | head -c 500
