"""Fan a what-if sweep out over a Dask cluster, then merge the shards.

    python examples/dask_sweep.py [INVENTORY] [--scheduler ADDRESS_OR_FILE] [--max-failures K] [--shards N]

With ``--scheduler`` (an address such as ``tcp://10.0.0.5:8786``, or the file written by
``dask scheduler --scheduler-file``) the sweep runs on that cluster; without it, on a
``distributed.LocalCluster`` of two worker processes on 127.0.0.1. Every worker needs the same
hapolicy version as this script (checked before anything is sent): the tasks are
``hapolicy.sweep`` itself, one disjoint shard each (``shard=(i, n)``), never a function of this
script, so the workers do not need this file. Merging every shard gives exactly the result of
one unsharded sweep, which the script checks.
"""

from __future__ import annotations

import argparse

import hapolicy as ha
import hapolicy.distributed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("inventory", nargs="?", default=None, help="inventory file (default: a generated 48-host cluster)")
    parser.add_argument("--scheduler", default=None,
                        help="scheduler address or scheduler file (default: a LocalCluster on 127.0.0.1)")
    parser.add_argument("--max-failures", type=int, default=2)
    parser.add_argument("--shards", type=int, default=None, help="default: two per worker thread")
    args = parser.parse_args()
    inv = ha.Inventory.load(args.inventory) if args.inventory else ha.generate_inventory(hosts=48, vms=4000)

    if args.scheduler:
        result = hapolicy.distributed.sweep(args.scheduler, inv, args.max_failures, shards=args.shards)
    else:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            result = hapolicy.distributed.sweep(client, inv, args.max_failures, shards=args.shards)
    print(result.summary())
    if result != ha.sweep(inv, max_failures=args.max_failures):
        raise SystemExit("the merged shards differ from the unsharded sweep")
    print("merged shards equal the unsharded sweep")


if __name__ == "__main__":
    main()
