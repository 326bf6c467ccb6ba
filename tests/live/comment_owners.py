# SPDX-License-Identifier: GPL-2.0-only
# comment_owners.py - the process blocks of an ecap export's packet comment, as the live tests
# check them: a comment (one line of `tshark -T fields -e frame.comment`, "\n" between keys)
# holds the owner's "Key: value" lines and the peer's "Peer Key: value" lines; owners() gives
# them by PID.


def owners(line):
    blocks = {"": {}, "Peer ": {}}
    for kv in line.rstrip("\n").split("\\n"):
        key, _, val = kv.partition(": ")
        pre = "Peer " if key.startswith("Peer ") else ""
        blocks[pre][key[len(pre):]] = val
    return {b.get("PID"): b for b in blocks.values()}
