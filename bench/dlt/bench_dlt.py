"""dlt's side of SyncFlow's sync benchmark (bench/sync.ts runs it; not meant to be run by hand).

One pipeline run per process, so that the peak RSS reported is that run's own:

    python bench_dlt.py --url postgresql://... --run full|rerun|incremental|incremental-unchanged \
        --pipeline NAME --dataset SCHEMA --pipelines-dir DIR --backend auto|connectorx|sqlalchemy \
        [--initial-row-version N]

It loads bench.items (the source table bench/sync.ts generated) from the same PostgreSQL into a table of its
own (<dataset>.items) with write_disposition="merge" and primary key (part_no, plant), through dlt's
sql_database source (`sql_table`):
- full and rerun read the whole table (no incremental): the rerun is the like of SyncFlow's resync with
  nothing changed, a whole re-read merged into a table that already holds every row;
- incremental and incremental-unchanged read rows with row_version at or above the watermark through
  `dlt.sources.incremental("row_version")`. The first incremental run of a pipeline starts at
  --initial-row-version, the source's max(row_version) before the 1% UPDATE (what the state of an incremental
  pipeline that had loaded the table would hold), then keeps dlt's own state in --pipelines-dir.

Load-file compression follows dlt's configuration (bench/sync.ts sets DATA_WRITER__DISABLE_COMPRESSION=true
for the "compression off" runs). The last stdout line is `DLT_RESULT <json>`.
"""

import argparse
import json
import resource
import sys
import time
from typing import Optional


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux; children: any process dlt started (normalize/load pools), the largest one.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + children) / 1024, 1)


def probe_connectorx(url: str) -> Optional[str]:
    """None when connectorx reads the source table as arrow, else why not."""
    try:
        import connectorx as cx

        cx.read_sql(url, "SELECT * FROM bench.items LIMIT 5", return_type="arrow")
        return None
    except Exception as error:  # noqa: BLE001 - any failure means: use the default backend
        return f"{type(error).__name__}: {error}"[:500]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--run", required=True, choices=["full", "rerun", "incremental", "incremental-unchanged"])
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--pipelines-dir", required=True)
    parser.add_argument("--backend", default="auto", choices=["auto", "connectorx", "sqlalchemy"])
    parser.add_argument("--initial-row-version", type=int, default=None)
    args = parser.parse_args()

    import dlt
    from dlt.sources.sql_database import sql_table

    backend = args.backend
    fallback = None
    if backend == "auto":
        fallback = probe_connectorx(args.url)
        backend = "sqlalchemy" if fallback else "connectorx"

    incremental = args.run in ("incremental", "incremental-unchanged")

    # SQLAlchemy 2.1 reads postgresql:// as psycopg 3, which dlt[postgres] does not install: psycopg2, named.
    # (The connectorx backend strips the driver again: dlt hands connectorx a plain postgresql:// URL.)
    source_url = "postgresql+psycopg2://" + args.url.split("://", 1)[1]

    def resource_for(chosen: str):
        kwargs = dict(
            credentials=source_url,
            schema="bench",
            table="items",
            backend=chosen,
            write_disposition="merge",
            primary_key=["part_no", "plant"],
        )
        if incremental:
            kwargs["incremental"] = dlt.sources.incremental("row_version", initial_value=args.initial_row_version)
        return sql_table(**kwargs)

    pipeline = dlt.pipeline(
        pipeline_name=args.pipeline,
        pipelines_dir=args.pipelines_dir,
        destination=dlt.destinations.postgres(credentials=args.url),
        dataset_name=args.dataset,
    )

    started = time.perf_counter()
    try:
        info = pipeline.run(resource_for(backend))
    except Exception as error:  # noqa: BLE001
        if backend != "connectorx" or args.backend != "auto":
            raise
        # connectorx read the probe but failed inside dlt: the default backend, timed from its own start.
        fallback = f"{type(error).__name__}: {error}"[:500]
        backend = "sqlalchemy"
        pipeline.drop_pending_packages()
        started = time.perf_counter()
        info = pipeline.run(resource_for(backend))
    wall_ms = (time.perf_counter() - started) * 1000

    rows = 0
    trace = pipeline.last_trace
    if trace is not None and trace.last_normalize_info is not None:
        rows = int(trace.last_normalize_info.row_counts.get("items", 0))
    with pipeline.sql_client() as client:
        target_rows = client.execute_sql(f'SELECT count(*) FROM "{args.dataset}".items')[0][0]
        keyed = client.execute_sql(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND tablename = 'items'", args.dataset
        )[0][0]

    # What was loaded: the load files' format and whether they were gzipped (the compression switch at work).
    load_files = []
    for package in info.load_packages:
        for job in package.jobs.get("completed_jobs", []):
            try:
                with open(job.file_path, "rb") as f:
                    gzipped = f.read(2) == b"\x1f\x8b"
            except OSError:
                gzipped = None
            load_files.append({"table": job.job_file_info.table_name, "format": job.job_file_info.file_format,
                               "gzipped": gzipped, "bytes": job.file_size})

    result = {
        "run": args.run,
        "wallMs": round(wall_ms),
        "rowsLoaded": rows,
        "targetRows": int(target_rows),
        "targetIndexes": int(keyed),
        "peakRssMb": peak_rss_mb(),
        "backend": backend,
        "backendFallback": fallback,
        "loadFiles": [f for f in load_files if not f["table"].startswith("_dlt")],
        "dltVersion": dlt.__version__,
        "python": sys.version.split()[0],
    }
    print("DLT_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
