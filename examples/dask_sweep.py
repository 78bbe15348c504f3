"""Fan a what-if sweep out over a Dask cluster, then merge the shards.

    python examples/dask_sweep.py [INVENTORY] [--max-failures K] [--shards N]

Each worker evaluates one disjoint shard (``ha.sweep(inv, k, shard=(i, n))``); inventories and
results pickle, so the same code runs on a ``distributed.LocalCluster`` (as here: processes on
127.0.0.1) or on a real cluster (pass its scheduler address to ``Client``). Merging every shard
gives exactly the result of one unsharded sweep.
"""

from __future__ import annotations

import argparse

import hapolicy as ha


def sweep_shard(inv: ha.Inventory, max_failures: int, shard: int, shards: int) -> ha.SweepResult:
    # One worker thread per shard: the cluster provides the parallelism.
    return ha.sweep(inv, max_failures=max_failures, shard=(shard, shards), threads=1)


def distributed_sweep(inv: ha.Inventory, max_failures: int, shards: int, workers: int = 2) -> ha.SweepResult:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        inv_future = client.scatter(inv, broadcast=True)
        futures = [client.submit(sweep_shard, inv_future, max_failures, i, shards, pure=False) for i in range(shards)]
        parts = client.gather(futures)
    return ha.SweepResult.merge(*parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory", nargs="?", default=None, help="inventory file (default: a generated 48-host cluster)")
    parser.add_argument("--max-failures", type=int, default=2)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    inv = ha.Inventory.load(args.inventory) if args.inventory else ha.generate_inventory(hosts=48, vms=4000)
    result = distributed_sweep(inv, args.max_failures, args.shards)
    print(result.summary())
    assert result == ha.sweep(inv, max_failures=args.max_failures), "shards must merge into the whole sweep"
    print("merged shards equal the unsharded sweep")


if __name__ == "__main__":
    main()
