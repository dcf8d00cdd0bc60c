"""Results as JSON (everything), Markdown (tables + goals) and a PNG plot, so two runs can be compared.

The JSON carries the machine, versions and settings next to every number; the Markdown is what
docs/benchmarks.md and the README copy. Goals are reported, never asserted: a benchmark that fails its
goal is still a result.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

FAULT_NOTE = "injected faults: 5xx, empty 429, resets, truncated JSON, partial data, slow answers"
STRATEGY_LABELS = {
    "naive": "(a) naive sequential",
    "two_phase": "(b) strict two-phase",
    "tap_default": "(c) tap, defaults",
    "tap_tuned": "(d) tap, tuned for plan",
    "harvest": "(h) bare id harvest, one chain per board",
    "naive_all": "(a*) naive sequential, core streams",
    "tap_core": "(c*) tap, defaults, core streams",
    "tap_core_incremental": "(i*) tap, defaults, core streams, incremental after 5 changes per board",
    "tap_all": "(c**) tap, defaults, every stream",
    "tap_all_incremental": "(i**) tap, defaults, every stream, incremental after 5 changes per board",
}
DEFAULT_GROUPS = 4
"""Groups per generated board unless a run says otherwise (benchmarks/harness.py)."""
_PACKAGES = ("singer-sdk", "aiohttp", "graphql-core", "msgspec", "simplejson", "meltano", "psutil")


def environment(root: Path) -> dict[str, Any]:
    """Machine, interpreter, package versions and the git commit the run measured."""
    versions: dict[str, str | None] = {}
    for name in (*_PACKAGES, "tap-monday-boards"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit or None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "versions": versions,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _requests(server: dict[str, Any]) -> str:
    """Total requests and their kinds: cursor pages, id batches, anything else (board metadata)."""
    pages = batches = other = 0
    for kind, count in server.get("requests_by_kind", {}).items():
        if kind.startswith(("Harvest", "Naive")):
            pages += count
        elif kind.startswith("ItemsByIds"):
            batches += count
        else:
            other += count
    return f"{server['requests_total']:,} ({pages} pages, {batches} batches, {other} other)"


LEFT, RIGHT = "---", "---:"
"""Markdown column alignments."""


def _line(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: the titles, the alignment row, one line per row of cells.

    Why one builder: every table of the report is this shape; each table function only says its columns
    and how a run becomes its cells.
    """
    alignments = "|" + "|".join(alignment for _, alignment in columns) + "|"
    return "\n".join([_line(title for title, _ in columns), alignments, *(_line(row) for row in rows)])


def _peak_rss_mb(run: dict[str, Any]) -> float | None:
    """The tap's peak RSS: the polled figure when there is one. The kernel's (``wait4``) counts the benchmark
    process itself at the fork, so a tap started from a large benchmark process reports that process's size
    (305 MB for a tap whose polled peak was 110 MB)."""
    polled = run.get("tap_polled_peak_rss_mb")
    return polled if polled else run.get("tap_peak_rss_mb")


def runs_table(runs: Sequence[dict[str, Any]]) -> str:
    """The per-run Markdown table."""
    columns = [
        ("profile", LEFT), ("cost model", LEFT), ("items", RIGHT), ("strategy", LEFT), ("wall s", RIGHT),
        ("items/s", RIGHT), ("T* s (binding)", LEFT), ("T*/wall", RIGHT), ("strict/wall", RIGHT),
        ("requests", RIGHT), ("complexity", RIGHT), ("points/item", RIGHT), ("rejected", RIGHT),
        ("retries", RIGHT), ("missing / dup", LEFT), ("tap CPU s per 1k", RIGHT),
        ("tap peak RSS MB (polled)", RIGHT), ("emulator CPU s", RIGHT),
    ]  # fmt: skip
    rows: list[list[str]] = []
    for run in runs:
        ceiling = run["ceiling"]
        strategy = STRATEGY_LABELS.get(run["strategy"], run["strategy"])
        if run.get("faults"):
            strategy += f", {run['faults']:.0%} faults"
        if run.get("error"):
            strategy += " **FAILED**"
        boards = run.get("boards", 1)
        items = f"{boards} x {run['items']:,}" if boards > 1 else f"{run['items']:,}"
        if run.get("groups", DEFAULT_GROUPS) != DEFAULT_GROUPS:
            items += f" ({run['groups']} groups)"
        if run.get("every_stream"):
            strategy += ", every stream"
        rows.append([
            run["profile"], run.get("cost_model", "heuristic"), items, strategy, _fmt(run["wall_s"]),
            _fmt(run["items_per_s"], 0), f"{_fmt(ceiling['t_star_s'])} ({ceiling['binding']})",
            _fmt(run["efficiency"], 2), _fmt(run["efficiency_strict"], 2), _requests(run["server"]),
            f"{run['server']['complexity_spent']:,}", _fmt(run.get("points_per_item"), 0),
            f"{run['server']['rejections_total']:,}", f"{run['retries']:,}",
            f"{run['ids']['missing']} / {run['ids']['duplicates']}",
            _fmt(run.get("tap_cpu_s_per_1000_items"), 2), _fmt(_peak_rss_mb(run), 0),
            _fmt(run["emulator_cpu_s"]),
        ])  # fmt: skip
    return _table(columns, rows)


def timeline_table(runs: Sequence[dict[str, Any]]) -> str:
    """When the phases ran (server side): a positive overlap means batches were fetched mid-harvest."""
    columns = [("run", LEFT), ("harvest done s", RIGHT), ("first batch s", RIGHT), ("overlap s", RIGHT),
               ("last answer s", RIGHT)]
    rows: list[list[str]] = []
    for run in runs:
        timeline = run.get("timeline") or {}
        if run["strategy"] == "naive" or timeline.get("first_batch_s") is None:
            continue
        phases = ("harvest_end_s", "first_batch_s", "overlap_s", "last_end_s")
        rows.append([run["label"], *(_fmt(timeline[phase]) for phase in phases)])
    return _table(columns, rows)


def _bare_harvest(runs: Sequence[dict[str, Any]], run: dict[str, Any]) -> dict[str, Any] | None:
    """The bare single-chain harvest of the same boards (same profile, size and seed) in this run."""
    return next(
        (
            r
            for r in runs
            if r["strategy"] == "harvest"
            and not r.get("error")
            and (r["profile"], r["items"], r.get("boards", 1), r.get("seed"))
            == (run["profile"], run["items"], run.get("boards", 1), run.get("seed"))
        ),
        None,
    )


def partition_table(runs: Sequence[dict[str, Any]]) -> str:
    """The tap on boards with groups: wall time against T* with the longest chain after partitioning,
    against the single-chain T* of today's harvest, and against the bare single chain measured here."""
    columns = [
        ("run", LEFT), ("groups", RIGHT), ("streams", LEFT), ("wall s", RIGHT), ("T* s (binding)", LEFT),
        ("T*/wall", RIGHT), ("single-chain T* s", RIGHT), ("chain s: partitioned / single", LEFT),
        ("bare single chain s", RIGHT), ("wall / bare chain", RIGHT),
    ]  # fmt: skip
    rows: list[list[str]] = []
    for run in runs:
        bare = _bare_harvest(runs, run)
        if not run["strategy"].startswith("tap") or bare is None:
            continue
        bound, single = run["ceiling"], run.get("ceiling_single_chain") or run["ceiling"]
        ratio = run["wall_s"] / bare["wall_s"] if bare["wall_s"] else None
        rows.append([
            run["label"], str(run.get("groups", DEFAULT_GROUPS)),
            "every stream" if run.get("every_stream") else "items", _fmt(run["wall_s"]),
            f"{_fmt(bound['t_star_s'])} ({bound['binding']})", _fmt(run["efficiency"], 2),
            _fmt(single["t_star_s"]), f"{_fmt(bound['chain_s'])} / {_fmt(single['chain_s'])}",
            _fmt(bare["wall_s"]), _fmt(ratio, 2),
        ])  # fmt: skip
    return _table(columns, rows)


def writer_table(results: Sequence[dict[str, Any]]) -> str:
    """The in-process emission table."""
    columns = [("variant", LEFT), ("writer", LEFT), ("conformance", LEFT), ("records", RIGHT),
               ("records/s of CPU", RIGHT), ("records/s wall", RIGHT), ("bytes/record", RIGHT)]
    rows = [
        [r["variant"], r["writer"], r["conformance"], f"{r['records']:,}", _fmt(r["records_per_cpu_s"], 0),
         _fmt(r["records_per_wall_s"], 0), _fmt(r["bytes_per_record"], 0)]
        for r in results
    ]
    return _table(columns, rows)


def _find(runs: Sequence[dict[str, Any]], **where: Any) -> dict[str, Any] | None:
    for run in runs:
        if all(run.get(k) == v for k, v in where.items()) and not run.get("error"):
            return run
    return None


def _goal_pipelined(runs: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for size in (10_000, 100_000):
        for strategy in ("tap_default", "tap_tuned"):
            run = _find(
                runs, profile="production-enterprise", items=size, strategy=strategy, faults=0.0,
                cost_model="documented",
            )
            if run:
                lines.append(
                    f"Pipelined ({STRATEGY_LABELS[strategy]}) at {size:,} on production: "
                    f"T*/wall = {_fmt(run['efficiency'], 2)} (goal >= 0.9); "
                    f"strict bound/wall = {_fmt(run['efficiency_strict'], 2)}"
                )
    naive = _find(runs, profile="production-enterprise", items=10_000, strategy="naive", faults=0.0,
                  cost_model="documented")
    for strategy in ("tap_default", "tap_tuned"):
        tap = _find(runs, profile="production-enterprise", items=10_000, strategy=strategy, faults=0.0,
                    cost_model="documented")
        if naive and tap and tap["wall_s"] > 0:
            speedup = naive["wall_s"] / tap["wall_s"]
            label = STRATEGY_LABELS[strategy]
            lines.append(f"{label} vs naive at 10,000: {speedup:.1f}x faster (goal >= 10x)")
    tap = _find(runs, profile="slow-enterprise", strategy="tap_default", faults=0.0, cost_model="documented",
                groups=DEFAULT_GROUPS, every_stream=False)
    harvest = _bare_harvest(runs, tap) if tap else None
    if harvest and tap and harvest["wall_s"] > 0:
        lines.append(
            f"{tap['boards']} x {tap['items']:,} items at ~1.0 s per answer, defaults, items only: "
            f"{tap['wall_s'] / harvest['wall_s']:.2f}x the bare id harvest of the same boards "
            f"({tap['wall_s']:.1f} s vs {harvest['wall_s']:.1f} s; goal <= 1.5x), "
            f"{_fmt(tap.get('points_per_item'), 0)} points per item (goal <= 300)"
        )
    for run in runs:
        bare = _bare_harvest(runs, run)
        if not (run["strategy"].startswith("tap") and run.get("every_stream") and bare and bare["wall_s"]):
            continue
        lines.append(
            f"1 board x {run['items']:,} items in {run.get('groups')} groups ({run['profile']}), "
            "every stream: "
            f"{run['wall_s'] / bare['wall_s']:.2f}x the bare single-chain harvest of that board "
            f"({run['wall_s']:.1f} s vs {bare['wall_s']:.1f} s; goal <= 0.6x at 20,000 in 10 groups), "
            f"missing/duplicated {run['ids']['missing']}/{run['ids']['duplicates']}"
        )
    for strategy in ("tap_default", "tap_tuned"):
        per_model = {
            model: _find(runs, profile="production-enterprise", items=10_000, strategy=strategy,
                         faults=0.0, cost_model=model)
            for model in ("documented", "heuristic")
        }
        if all(per_model.values()):
            parts = [
                f"{model} {_fmt(run['points_per_item'], 0)} points/item, {run['wall_s']:.1f} s"
                for model, run in per_model.items() if run
            ]
            lines.append(f"{STRATEGY_LABELS[strategy]} at 10,000 under both cost models: " + "; ".join(parts))
    return lines


def _goal_account(runs: Sequence[dict[str, Any]]) -> list[str]:
    """The whole-account goals, each with the measured value."""
    lines = []

    def find(boards: int, items: int, strategy: str) -> dict[str, Any] | None:
        return _find(runs, profile="p50-enterprise", boards=boards, items=items, strategy=strategy)

    for strategy, streams in (("tap_core", "core streams"), ("tap_all", "every stream")):
        full = find(100, 100, strategy)
        if full:
            lines.append(
                f"100 boards x 100 items, {streams}, ~0.6 s per answer, defaults: {full['wall_s']:.1f} s "
                f"(goal <= 20 s), {full['server']['requests_total']} requests, "
                f"{full['server']['complexity_spent']:,} points (T* {full['ceiling']['t_star_s']:.1f} s, "
                f"strict {full['ceiling']['strict_s']:.1f} s)"
            )
        incremental = find(100, 100, f"{strategy}_incremental")
        if incremental:
            lines.append(
                f"Incremental run after 5 changes per board, {streams}: {incremental['wall_s']:.1f} s "
                f"(goal <= 10 s), {incremental['server']['requests_total']} requests, "
                f"{incremental['ids']['seen']} items emitted for {incremental['ids']['expected']} changed or "
                f"inside the look-back ({incremental['ids']['unexpected']} others)"
            )
        tap = find(2, 5_000, strategy)
        naive, harvest = find(2, 5_000, "naive_all"), find(2, 5_000, "harvest")
        if tap and naive:
            lines.append(
                f"2 x 5,000, {streams}: {naive['wall_s'] / tap['wall_s']:.1f}x faster than the naive loader "
                f"of the core streams (goal >= 10x)"
            )
        if tap and harvest:
            lines.append(
                f"2 x 5,000, {streams}: {tap['wall_s'] / harvest['wall_s']:.2f}x the bare id-harvest chains "
                f"({tap['wall_s']:.1f} s vs {harvest['wall_s']:.1f} s; goal <= 1.1x)"
            )
        many = find(1_000, 10, strategy)
        if many:
            lines.append(
                f"1,000 boards x 10 items, {streams}: {many['wall_s']:.1f} s, "
                f"T* {many['ceiling']['t_star_s']:.1f} s ({many['ceiling']['binding']}), "
                f"{many['server']['requests_total']} requests"
            )
    return lines


def _goal_cpu_memory(results: dict[str, Any]) -> list[str]:
    runs = results.get("runs", [])
    lines = [
        f"Tap emission in-process, wide records ({w['writer']}, {w['conformance']}): "
        f"{w['records_per_cpu_s']:,.0f} records/s of CPU (goal >= 20,000)"
        for w in results.get("writer", [])
        if w["variant"] == "tap-chosen"
    ]
    for run in runs:
        if run["profile"] == "instant" and run["strategy"].startswith("tap") and not run["error"]:
            per_1k = run.get("tap_cpu_s_per_1000_items") or 0.0
            lines.append(
                f"Whole tap on instant, {run['items']:,} items ({STRATEGY_LABELS[run['strategy']]}"
                f"{', faults' if run['faults'] else ''}): {1000 / per_1k if per_1k else 0:,.0f} records/s of "
                f"tap CPU, {run['items_per_s']:,.0f} items/s wall"
            )
    for run in runs:
        peak = _peak_rss_mb(run)
        if run["items"] >= 100_000 and peak:
            lines.append(
                f"Peak RSS at {run['items']:,} ({run['profile']}, {run['strategy']}): {peak:.0f} MB "
                "(goal < 300 MB)"
            )
    return lines


def goals(results: dict[str, Any]) -> list[str]:
    """Each benchmark goal with the measured value (reported, not asserted)."""
    runs = results.get("runs", [])
    bad = [r["label"] for r in runs if any(r["ids"][k] for k in ("missing", "duplicates", "unexpected"))]
    faulted = [r for r in runs if r.get("faults")]
    integrity = "Missing/duplicated items: " + ("none in any run" if not bad else "in " + ", ".join(bad))
    if faulted:
        injected = sum(sum(r["server"].get("faults_by_kind", {}).values()) for r in faulted)
        integrity += f" ({len(faulted)} run(s) with {FAULT_NOTE}: {injected} faults injected)"
    return [
        *_goal_pipelined(runs), *_goal_account(runs), *_goal_cpu_memory(results),
        *_goal_e2e(results.get("e2e")),
        integrity,
    ]


def _goal_e2e(e2e: dict[str, Any] | None) -> list[str]:
    if not e2e or "rows_per_s" not in e2e:
        return []
    lines = [f"meltano run end to end: {e2e['rows_per_s']:,.0f} items + subitems rows/s (goal >= 2,500)"]
    alone = e2e.get("tap_alone")
    if alone:
        lines.append(
            f"Tap alone on instant, items stream: {alone['records_per_cpu_s']:,.0f} records per CPU-second "
            "(goal >= 20,000)"
        )
    return lines


def e2e_section(e2e: dict[str, Any]) -> list[str]:
    """The end-to-end run: rows/s of the whole ``meltano run``, CPU per role, the tap alone."""
    if e2e.get("wall_s") is None or "rows" not in e2e:
        return [f"Not measured: {e2e.get('error')}", ""]
    acc = e2e.get("accounting", {})
    cpu = {**acc.get("cpu_s_by_role", {}), "emulator": e2e.get("emulator_cpu_s")}
    machine = acc.get("machine", {})
    spec = e2e.get("spec", {})
    lines = [
        f"`{e2e['command']}`, {spec.get('boards')} boards x {spec.get('items', 0):,} items "
        f"({e2e['profile']}; the tap's budget and rate raised through the environment"
        f"{'; target settings ' + str(spec.get('target')) if spec.get('target') else ''}"
        f"{'; streams ' + ', '.join(spec['select']) if spec.get('select') else '; every stream'}): "
        f"**{e2e['wall_s']:.1f} s, {e2e['rows']:,} items + subitems rows, {e2e['rows_per_s']:,.0f} rows/s** "
        "(start-up, discovery and load included).",
        "",
        _table([("role", LEFT), *((role, RIGHT) for role in cpu)], [["CPU s", *map(_fmt, cpu.values())]]),
        "",
        f"Machine: {machine.get('cores')} cores, {_fmt(machine.get('busy_share'), 2)} busy during the run; "
        f"other processes used {_fmt(machine.get('others_core_s'))} core-seconds meanwhile "
        f"(load {machine.get('load1_start')} -> {machine.get('load1_end')}).",
    ]
    truth = e2e.get("truth")
    if truth:
        checked = ", ".join(
            f"{name}: {truth[name]['loaded']:,} loaded / {truth[name]['expected']:,} expected, "
            f"{truth[name]['missing']} missing, {truth[name]['duplicates']} duplicated, "
            f"{truth[name]['wrong']} wrong"
            for name in ("items", "subitems")
            if name in truth
        )
        lines += ["", f"Ground truth ({'ok' if truth['ok'] else 'FAILED'}): {checked}."]
    alone = e2e.get("tap_alone")
    if alone:
        lines += [
            "",
            f"Tap alone, items stream only, same emulator: {alone['records']:,} records in "
            f"{alone['wall_s']:.1f} s, "
            f"{alone['cpu_s']:.2f} CPU s = **{alone['records_per_cpu_s']:,.0f} records per CPU-second**, "
            f"peak RSS {alone['peak_rss_mb']:.0f} MB.",
        ]
    return [*lines, ""]


def markdown(results: dict[str, Any], plot_name: str | None) -> str:
    """The whole Markdown report."""
    env = results["environment"]
    parts = [
        f"# Benchmark results ({results['mode']})",
        "",
        f"Run {env['timestamp']} at commit `{env['git_commit']}` on {env['platform']}, "
        f"{env['cpu_count']} CPUs, {env['memory_gb']} GB, Python {env['python']}, "
        f"singer-sdk {env['versions'].get('singer-sdk')}, "
        f"total {results['elapsed_s']:.0f} s. Command: `{results['command']}`.",
        "",
        "## Goals",
        "",
        *[f"- {line}" for line in goals(results)],
        "",
        "## Extraction runs",
        "",
        runs_table(results.get("runs", [])),
        "",
    ]
    if plot_name:
        parts += [f"![items/s by strategy and size]({plot_name})", ""]
    partitioned = partition_table(results.get("runs", []))
    if partitioned.count("\n") > 1:
        parts += ["## Partitioned harvest (against the single chain)", "", partitioned, ""]
    parts += ["## Phase timeline (emulator request log)", "", timeline_table(results.get("runs", [])), ""]
    if results.get("writer"):
        parts += ["## Tap-side emission (in-process)", "", writer_table(results["writer"]), ""]
    if results.get("e2e"):
        parts += ["## End to end: meltano run tap-monday-boards target-postgres", ""]
        parts += e2e_section(results["e2e"])
    return "\n".join(parts)


def plot(runs: Sequence[dict[str, Any]], path: Path) -> bool:
    """Items/s by strategy and size, one panel per profile (log scale). False when nothing to plot."""
    import matplotlib  # noqa: PLC0415 - optional heavy import, only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    plain = [r for r in runs if not r.get("faults") and not r.get("error")]
    profiles = sorted({r["profile"] for r in plain})
    if not profiles:
        return False
    fig, axes = plt.subplots(1, len(profiles), figsize=(max(10, 5 * len(profiles)), 5), squeeze=False)
    strategies = [s for s in STRATEGY_LABELS if any(r["strategy"] == s for r in plain)]
    width = 0.8 / max(1, len(strategies))
    for ax, profile in zip(axes[0], profiles, strict=True):
        sizes = sorted({r["items"] for r in plain if r["profile"] == profile})
        for index, strategy in enumerate(strategies):
            values = []
            for size in sizes:
                key = (profile, size, strategy)
                run = next((r for r in plain if (r["profile"], r["items"], r["strategy"]) == key), None)
                values.append(run["items_per_s"] if run else 0.0)
            positions = [x + (index - (len(strategies) - 1) / 2) * width for x in range(len(sizes))]
            ax.bar(positions, values, width, label=STRATEGY_LABELS[strategy])
        ax.set_xticks(range(len(sizes)), [f"{s:,}" for s in sizes])
        ax.set_yscale("log")
        ax.set_ylim(bottom=10)  # a common floor, so bar heights compare across panels
        ax.set_xlabel("items on the board")
        ax.set_ylabel("items/s (log)")
        ax.set_title(profile)
        ax.grid(axis="y", which="both", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    columns = min(len(labels), 2 if max(map(len, labels)) > 40 else 3)  # a few per row: none is cut off
    fig.legend(handles, labels, loc="upper center", ncol=columns, fontsize="small")
    rows = -(-len(labels) // columns)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.06 * rows))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def rerender(json_path: Path) -> dict[str, Path]:
    """Rewrite the Markdown and PNG of a saved results JSON (after a report change, without re-running)."""
    results = json.loads(json_path.read_text())
    return write_results(results, json_path.parent, json_path.stem)


def write_results(results: dict[str, Any], out_dir: Path, stem: str) -> dict[str, Path]:
    """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>.png`` (when there is something to plot)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{stem}.json", "md": out_dir / f"{stem}.md"}
    png = out_dir / f"{stem}.png"
    has_plot = plot(results.get("runs", []), png)
    if has_plot:
        paths["png"] = png
    paths["json"].write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    paths["md"].write_text(markdown(results, png.name if has_plot else None) + "\n")
    return paths
