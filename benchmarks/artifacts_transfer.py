"""Artifact transfer benchmark: a 5 GiB object up and down through a real server process.

Run:
    PYTHONPATH=src:. .venv/bin/python benchmarks/artifacts_transfer.py [--gib 5] [--encrypt]

The object is generated as a stream (one random 1 MiB block repeated) and checked as it
comes back, so no 5 GiB file exists on the client side; the server stages the upload and
stores it in a temporary home that is removed at the end. Printed: upload and download
throughput, and the peak RSS (VmHWM) of the server and of this client process. Timings on
the shared 2-core machine are noisy; the memory figures are the point.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.artifact_app import start_server, stop_server
from tests.server.test_artifacts_large import Repeat, peak_rss

from loopml.artifacts._crypto import generate_key
from loopml.artifacts._remote import RemoteArtifactStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=5.0)
    parser.add_argument("--encrypt", action="store_true", help="encrypt at rest on the server")
    args = parser.parse_args()
    size = int(args.gib * (1 << 30))
    block = os.urandom(1 << 20)
    folder = Path(tempfile.mkdtemp(prefix="loopml-transfer-"))
    env = {"LOOPML_ENCRYPTION_KEY": generate_key()} if args.encrypt else {}
    server = start_server(folder / "home", env)
    try:
        client = RemoteArtifactStore(server.url)
        started = time.perf_counter()
        digest = client.put(Repeat(block, size))
        up_s = time.perf_counter() - started
        started = time.perf_counter()
        sha = hashlib.sha256()
        with client.open(digest) as reader:
            while chunk := reader.read(len(block)):
                sha.update(chunk)
        down_s = time.perf_counter() - started
        assert sha.hexdigest() == digest
        print(
            json.dumps(
                {
                    "gib": args.gib,
                    "encrypted": args.encrypt,
                    "upload_s": round(up_s, 1),
                    "upload_mib_s": round(size / up_s / 2**20, 1),
                    "download_s": round(down_s, 1),
                    "download_mib_s": round(size / down_s / 2**20, 1),
                    "server_peak_rss_mib": round(peak_rss(server.process.pid) / 2**20, 1),
                    "client_peak_rss_mib": round(peak_rss(os.getpid()) / 2**20, 1),
                }
            )
        )
    finally:
        stop_server(server.process)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
