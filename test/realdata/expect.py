#!/usr/bin/env python3
"""Independent expectations for realdata_test, computed from the raw recorded Sepolia JSON.

This script is deliberately written WITHOUT reference to stakewatch's C++ code: it decodes the
Beacon API JSON itself, following the Electra rules as the spec states them
(shared/reference/beacon-api.md section 2, consensus-specs get_attesting_indices):

  * committee_bits is an SSZ Bitvector[64]: committee c is set iff bit c of the little-endian
    integer formed from its bytes is 1;
  * aggregation_bits is an SSZ Bitlist: as a little-endian integer, its highest set bit is the
    length marker N, and data bits are 0..N-1;
  * the data bits are the concatenation, over the set committees in ascending order, of one bit
    per committee member; their total must be N.

A vote for a slot of epoch E may be included until the last slot of E+1 (EIP-7045). A vote is
"included" at the slot of the first recorded block carrying it, provided every slot between the
duty and that block was recorded (otherwise an unrecorded earlier block might have carried it:
"unknown"); "missed" only if every slot of its inclusion window was recorded and none carried it;
otherwise "unknown".

Rewards: for every row of the recorded POST /eth/v1/beacon/rewards/attestations/{epoch}
response, actual = head+target+source+inactivity of total_rewards, ideal = the same sum of the
ideal_rewards row whose effective_balance equals the validator's effective balance in the
recorded validators response, effectiveness = actual/ideal.

Usage: expect.py [DATA_DIR]   (default: ../testdata/sepolia next to this script)
Prints one JSON object on stdout. Standard library only. Exits non-zero with a message on
stderr if the recording is inconsistent.
"""

import json
import os
import re
import sys


def fail(msg):
    print("expect.py: " + msg, file=sys.stderr)
    sys.exit(1)


def load_recording(data_dir):
    """Returns {(method, target): (status, parsed_json)} for interactions present in data_dir.

    If a request was recorded several times, the first recording is used.
    """
    with open(os.path.join(data_dir, "index.json")) as f:
        index = json.load(f)
    out = {}
    for it in index["interactions"]:
        name = it.get("response_file")
        if not name or not os.path.exists(os.path.join(data_dir, name)):
            continue
        m = re.match(r"^https?://[^/]+(/.*)$", it["uri"])
        if not m:
            fail("bad uri %r" % it["uri"])
        key = (it["method"], m.group(1))
        if key in out:
            continue
        with open(os.path.join(data_dir, name)) as f:
            body = json.load(f) if it["status"] == 200 else None
        out[key] = (it["status"], body)
    return out


def little_endian_int(hex_string):
    if not hex_string.startswith("0x"):
        fail("not 0x-hex: %r" % hex_string)
    return int.from_bytes(bytes.fromhex(hex_string[2:]), "little")


def attesters(att, committees_of_slot):
    """Validator indices whose bit is set in an Electra aggregate.

    committees_of_slot: {committee_index: [validator, ...]} of att's data.slot.
    """
    cbits = little_endian_int(att["committee_bits"])
    if cbits == 0:
        fail("empty committee_bits")
    abits = little_endian_int(att["aggregation_bits"])
    if abits == 0:
        fail("aggregation_bits without length marker")
    length = abits.bit_length() - 1  # the marker's position
    members = []
    for c in range(64):
        if (cbits >> c) & 1:
            if c not in committees_of_slot:
                fail("slot %s: no committee %d" % (att["data"]["slot"], c))
            members.extend(committees_of_slot[c])
    if len(members) != length:
        fail("slot %s: bitlist length %d != members %d" %
             (att["data"]["slot"], length, len(members)))
    return [v for i, v in enumerate(members) if (abits >> i) & 1]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata",
                                                                  "sepolia")
    rec = load_recording(data_dir)

    spec = rec.get(("GET", "/eth/v1/config/spec"))
    if spec is None:
        fail("config/spec not recorded")
    spe = int(spec[1]["data"]["SLOTS_PER_EPOCH"])

    committees = {}  # slot -> {committee index -> [validators]}
    blocks = {}  # slot -> list of attestations, or None for a recorded empty slot
    headers = {}  # slot -> proposer index, or None for a recorded empty slot
    duties = {}  # epoch -> [(slot, validator)]
    validators_responses = []  # (state slot, data)
    rewards = None
    for (method, target), (status, body) in rec.items():
        m = re.match(r"^/eth/v1/beacon/states/(\d+)/committees\?slot=(\d+)$", target)
        if m and status == 200:
            for c in body["data"]:
                slot = int(c["slot"])
                if slot != int(m.group(2)):
                    fail("%s: committee for slot %d" % (target, slot))
                committees.setdefault(slot, {})[int(c["index"])] = [int(v) for v in
                                                                    c["validators"]]
            continue
        m = re.match(r"^/eth/v2/beacon/blocks/(\d+)/attestations$", target)
        if m:
            blocks[int(m.group(1))] = body["data"] if status == 200 else None
            continue
        m = re.match(r"^/eth/v1/beacon/headers/(\d+)$", target)
        if m:
            if status == 200:
                msg = body["data"]["header"]["message"]
                if int(msg["slot"]) != int(m.group(1)):
                    fail("%s: header for another slot" % target)
                headers[int(m.group(1))] = int(msg["proposer_index"])
            else:
                headers[int(m.group(1))] = None
            continue
        m = re.match(r"^/eth/v1/validator/duties/proposer/(\d+)$", target)
        if m and status == 200:
            duties[int(m.group(1))] = [(int(d["slot"]), int(d["validator_index"]))
                                       for d in body["data"]]
            continue
        m = re.match(r"^/eth/v1/beacon/states/(\d+)/validators$", target)
        if m and status == 200:
            validators_responses.append((int(m.group(1)), body["data"]))
            continue
        m = re.match(r"^/eth/v1/beacon/rewards/attestations/(\d+)$", target)
        if m and method == "POST" and status == 200:
            rewards = (int(m.group(1)), body["data"])

    # First inclusion slot of each (duty slot, validator), over recorded blocks in slot order.
    first_inclusion = {}
    for block_slot in sorted(blocks):
        for att in blocks[block_slot] or []:
            duty_slot = int(att["data"]["slot"])
            if duty_slot not in committees:
                continue  # a vote for a slot whose committees were not recorded
            for v in attesters(att, committees[duty_slot]):
                first_inclusion.setdefault((duty_slot, v), block_slot)

    def all_recorded(lo, hi):  # every slot in [lo, hi] has a recorded block response
        return all(s in blocks for s in range(lo, hi + 1))

    attestations = []
    epochs = sorted({s // spe for s in committees})
    for slot in sorted(committees):
        epoch = slot // spe
        window_end = (epoch + 2) * spe - 1
        for cidx in sorted(committees[slot]):
            for v in committees[slot][cidx]:
                row = {"epoch": epoch, "validator": v, "duty_slot": slot,
                       "committee_index": cidx, "status": "unknown",
                       "inclusion_slot": 0, "inclusion_delay": 0}
                inc = first_inclusion.get((slot, v))
                if inc is not None and inc <= window_end:
                    if all_recorded(slot + 1, inc - 1):
                        row.update(status="included", inclusion_slot=inc,
                                   inclusion_delay=inc - slot)
                elif all_recorded(slot + 1, window_end):
                    row["status"] = "missed"
                attestations.append(row)

    proposals = []
    for epoch in epochs:
        for slot, v in sorted(duties.get(epoch, [])):
            status = "unknown"
            if slot in headers:
                status = "proposed" if headers[slot] == v else "missed"
            proposals.append({"epoch": epoch, "slot": slot, "validator": v, "status": status})

    reward_rows = []
    reward_epoch = None
    state_slot = None
    if rewards is not None:
        reward_epoch, data = rewards
        if not validators_responses:
            fail("rewards recorded but no validators response")
        # The recorded registry closest to the rewards epoch.
        state_slot, registry = min(validators_responses, key=lambda r: r[0])
        effective = {int(r["index"]): int(r["validator"]["effective_balance"]) for r in registry}
        ideal_by_balance = {}
        for row in data["ideal_rewards"]:
            ideal_by_balance.setdefault(int(row["effective_balance"]), row)
        parts = ("head", "target", "source", "inactivity")
        for row in data["total_rewards"]:
            v = int(row["validator_index"])
            out = {"validator": v}
            for p in parts:
                out[p] = int(row[p])
            out["reward"] = sum(out[p] for p in parts)
            eb = effective.get(v)
            ideal = ideal_by_balance.get(eb) if eb is not None else None
            out["effective_balance"] = eb if eb is not None else -1
            out["ideal_found"] = ideal is not None
            if ideal is not None:
                for p in parts:
                    out["ideal_" + p] = int(ideal[p])
                out["ideal_reward"] = sum(out["ideal_" + p] for p in parts)
                out["effectiveness"] = (out["reward"] / out["ideal_reward"]
                                        if out["ideal_reward"] != 0 else 0.0)
            reward_rows.append(out)

    json.dump({
        "slots_per_epoch": spe,
        "epochs": epochs,
        "committee_slots": sorted(committees),
        "block_slots": sorted(blocks),
        "attestations": attestations,
        "proposals": proposals,
        "rewards": {"epoch": reward_epoch, "validators_state_slot": state_slot,
                    "rows": reward_rows},
    }, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
