"""Records real Apache Thrift streams (Python client <-> Python server, every dialect) into
mesh-codec/tests/fixtures/thrift/<dialect>.request.bin / .response.bin.

    PYTHONHASHSEED=0 PYTHONPATH=<generated code> python capture.py OUTDIR

(PYTHONHASHSEED=0 makes set<string> order, hence the bytes, reproducible: CI re-records and
compares byte for byte.)
"""

import os
import socket
import sys
import threading

import peer


class Relay:
    """Loopback TCP relay that records both directions of one connection."""

    def __init__(self, upstream_port):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.upstream_port = upstream_port
        self.c2s = bytearray()
        self.s2c = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _pump(self, src, dst, record):
        while True:
            data = src.recv(65536)
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            record.extend(data)
            dst.sendall(data)

    def _run(self):
        down, _ = self.lsock.accept()
        up = socket.create_connection(("127.0.0.1", self.upstream_port))
        a = threading.Thread(target=self._pump, args=(down, up, self.c2s))
        b = threading.Thread(target=self._pump, args=(up, down, self.s2c))
        a.start()
        b.start()
        a.join()
        b.join()
        down.close()
        up.close()


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    for dialect in peer.DIALECTS:
        server = peer.Server(dialect)
        relay = Relay(server.port)
        client = peer.Client(dialect, relay.port)
        results = peer.call_sequence(client)
        client.close()
        relay.thread.join(10)
        server.close()
        with open(os.path.join(outdir, f"{dialect}.request.bin"), "wb") as f:
            f.write(relay.c2s)
        with open(os.path.join(outdir, f"{dialect}.response.bin"), "wb") as f:
            f.write(relay.s2c)
        print(dialect, len(relay.c2s), len(relay.s2c), [r[1][0] for r in results])


if __name__ == "__main__":
    main(sys.argv[1])
