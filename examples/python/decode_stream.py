"""Example: decode a captured byte stream with the Python module and print one line per message.

    python examples/python/decode_stream.py redis request capture.bin
"""

import json
import sys

import meshplane


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    _, protocol, direction, path = argv
    with open(path, "rb") as f:
        data = f.read()
    try:
        for message in meshplane.decode(protocol, direction, data):
            print(json.dumps(message, sort_keys=True))
    except meshplane.IncompleteMessage as e:
        print(f"incomplete message at offset {e.offset}", file=sys.stderr)
        return 3
    except meshplane.DecodeError as e:
        print(f"offset {e.offset}: {e.reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
