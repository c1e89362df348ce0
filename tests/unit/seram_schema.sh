#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every SERAM message the encoders make (test_seram --dump) validates
# against docs/seram.schema.json, and the spec's examples that cpk refuses
# are refused by the schema too (python3-jsonschema).
#
# usage: seram_schema.sh TEST_SERAM SCHEMA WORKDIR
set -eu
test_seram=$1 schema=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
"$test_seram" --dump "$work" >/dev/null
python3 - "$schema" "$work" <<'PY'
import json, os, sys
import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
def validator(kind):
    s = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/" + kind}
    return jsonschema.Draft202012Validator(s)

n = 0
for name in sorted(os.listdir(sys.argv[2])):
    kind = name.split("-")[0]
    doc = json.load(open(os.path.join(sys.argv[2], name)))
    validator(kind).validate(doc)
    n += 1
if n < 8:
    sys.exit("only %d messages dumped" % n)

bad = [
    ("report", {"localAgentStatus": {"localAgentStatusEnum": "POLLING", "executeRamCommands": 0}}),
    ("order", {"ramCommands": [{"ramCommandType": "seRamCommand",
                                "listOfCAPDU": ["00A40400OA0001020304050607080900A"]}]}),
    ("order", {"ramCommands": [{"ramCommandType": "ramStartCommand"}]}),
    ("handshakeResponse", {"chosenDataProtocol": "application/json",
                           "chosenTransportProtocol": "HTTPS", "chosenVersion": "2.0.0"}),
    ("handshakeCommand", {"secureElements": [], "supportedVersion": ["2.0.0"]}),
    ("order", {"ramCommands": [{"ramCommandType": "notificationCommand",
                                "deviceAppNotification": "cpk/loaded/ok\nforged"}]}),
    ("order", {"ramCommands": [{"ramCommandType": "seRamCommand", "listOfCAPDU": ["00"],
                                "cpkHolderPin": {"aid": "A000000151", "reference": "81",
                                                 "pin": "1234"}}]}),
    ("report", {"localAgentStatus": {"localAgentStatusEnum": "PROCESSED",
                                     "executedSeRamCommands": 1},
                "ramResponses": [{"ramResponseType": "seRamResponse", "listOfRAPDU": [""],
                                  "cpkHolderPinSw": "1234x"}]}),
]
for kind, doc in bad:
    if validator(kind).is_valid(doc):
        sys.exit("the schema accepts a %s cpk refuses: %s" % (kind, json.dumps(doc)))
print("seram-schema: %d messages valid, %d refused" % (n, len(bad)))
PY
