"""Markdown tables from benchmark rows (as `bench.worker` writes them; money in micros)."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]
BASELINES = ("greedy", "cpsat", "cpsat-warm", "highs", "highs-warm")


def _money(micros: int | None) -> str:
    return "—" if micros is None else f"{micros / 1e6:,.2f}"


def _ratio(num: int | float | None, den: int | float | None, digits: int = 4) -> str:
    if num is None or den is None or den <= 0:
        return "—"
    return f"{num / den:.{digits}f}"


def _table(header: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def _instances(rows: list[Row]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r["instance"] not in seen:
            seen.append(r["instance"])
    return seen


def _find(rows: list[Row], instance: str, method: str) -> Row | None:
    return next((r for r in rows if r["instance"] == instance and r["method"] == method), None)


def _detail(row: Row | None, key: str) -> Any:
    return (row or {}).get("detail", {}).get(key)


def sizes_table(rows: list[Row]) -> str:
    """Instance sizes: the book, gpux's pruned candidates, the naive enumeration."""
    lines = []
    for inst in _instances(rows):
        any_row = next(r for r in rows if r["instance"] == inst)
        naive = next((r for r in rows if r["instance"] == inst and "placements"
                      in r.get("detail", {})), None)
        gpux = _find(rows, inst, "gpux")
        lines.append([inst, str(any_row.get("bids", "—")), str(any_row.get("alternatives", "—")),
                      str(any_row.get("pools", "—")), str(any_row.get("asks", "—")),
                      f"{_detail(gpux, 'candidates') or '—'}",
                      f"{_detail(naive, 'placements') or '—'}",
                      f"{_detail(naive, 'nonzeros') or '—'}"])
    return _table(["instance", "bids", "alternatives", "pools", "asks", "gpux candidates",
                   "naive placements", "naive nonzeros"], lines)


def _gap(row: Row) -> str:
    surplus, bound = row.get("surplus"), row.get("bound")
    if row["method"] == "lp" or surplus is None or bound is None or bound <= 0:
        return "—"
    return f"{(bound - surplus) / bound:.2e}"


def results_table(rows: list[Row]) -> str:
    """One line per (instance, method): surplus, repaired surplus, bounds, time, memory."""
    lines = []
    for inst in _instances(rows):
        lp = _find(rows, inst, "lp")
        lp_bound = lp.get("bound") if lp else None
        for r in (r for r in rows if r["instance"] == inst):
            if r["method"] == "lp":
                kind = "LP bound" if r.get("converged") else "Lagrangian bound"
                surplus = f"({kind} {_money(r.get('bound'))})"
                repaired = "—"
            else:
                surplus = _money(r.get("surplus"))
                repaired = "=" if r["method"] == "gpux" else _money(r.get("repaired"))
            lines.append([inst, r["method"], str(r.get("status", "—")), surplus, repaired,
                          _ratio(r.get("repaired"), lp_bound), _gap(r),
                          f"{r.get('wall_seconds', '—')}", f"{r.get('peak_mib', '—')}"])
    return _table(["instance", "method", "status", "surplus", "after repair",
                   "repaired / LP bound", "own gap", "wall s", "peak MiB"], lines)


def pricing_table(rows: list[Row]) -> str:
    """Pricing errors (envy, overprice) of three price vectors on gpux's allocation."""
    lines = []

    def pair(p: list[int] | None) -> str:
        return "—" if p is None else f"{_money(p[0])} / {_money(p[1])}"

    for r in rows:
        if r["method"] != "gpux" or "pricing" not in r:
            continue
        pr = r["pricing"]
        lines.append([r["instance"], pair(pr.get("clear")), pair(pr.get("floor")),
                      pair(pr.get("lp_dual")),
                      f"{_detail(r, 'pricing_seconds')}", f"{_detail(r, 'pricing_method')}"])
    return _table(["instance", "clearing_prices envy / overprice", "floor_prices",
                   "lp_dual_prices", "clearing s", "clearing method"], lines)


def _best(rows: list[Row], key: str) -> Row | None:
    scored = [r for r in rows if r.get(key) is not None]
    return max(scored, key=lambda r: int(r[key])) if scored else None


def ratios_table(rows: list[Row]) -> str:
    """gpux against greedy and against the best baseline, after repair and as they stand."""
    lines = []
    for inst in _instances(rows):
        gpux = _find(rows, inst, "gpux")
        if gpux is None or gpux.get("surplus") is None:
            continue
        greedy = _find(rows, inst, "greedy")
        base = [r for r in rows if r["instance"] == inst and r["method"] in BASELINES]
        best_rep, best_raw = _best(base, "repaired"), _best(base, "surplus")
        lp = _find(rows, inst, "lp")
        lines.append([
            inst,
            _ratio(gpux["surplus"], greedy.get("repaired") if greedy else None),
            f"{best_rep['method']}" if best_rep else "—",
            _ratio(gpux["surplus"], best_rep.get("repaired") if best_rep else None),
            f"{best_raw['method']}" if best_raw else "—",
            _ratio(gpux["surplus"], best_raw.get("surplus") if best_raw else None),
            _ratio(gpux["surplus"], lp.get("bound") if lp else None)
            + ("" if lp is None or lp.get("converged") else " (Lagrangian)"),
        ])
    return _table(["instance", "gpux / greedy (repaired)", "best baseline after repair",
                   "gpux / it", "best baseline as is", "gpux / it", "gpux / LP bound"], lines)


def gpux_detail_table(rows: list[Row]) -> str:
    """Where gpux's time goes, and how its search went."""
    lines = []
    for r in rows:
        if r["method"] != "gpux" or "detail" not in r:
            continue
        d = r["detail"]
        lines.append([r["instance"], str(d.get("prepare_seconds")), str(d.get("solve_seconds")),
                      str(d.get("pricing_seconds")), str(r.get("wall_seconds")),
                      str(d.get("components")), str(d.get("largest_component_candidates")),
                      f"{d.get('lns_rounds')} / {d.get('lns_improvements')}"])
    return _table(["instance", "prepare s", "solve s", "pricing s", "clear() total s",
                   "components", "largest component (candidates)",
                   "LNS rounds / improving"], lines)


def reference_table(rows: list[Row], reference: list[Row]) -> str:
    """gpux's surplus against the best any method found, reference runs included.

    The best is taken after repair (what the allocation really delivers) over the reference
    rows and this run's own rows of the same instance.
    """
    lines = []
    for inst in _instances(rows):
        gpux = _find(rows, inst, "gpux")
        if gpux is None or gpux.get("surplus") is None:
            continue
        pool = [r for r in reference + rows if r["instance"] == inst and r["method"] != "lp"]
        best = _best(pool, "repaired")
        if best is None:
            continue
        # every method's bound is valid for gpux's problem (the naive models relax it)
        bounded = [r for r in pool if r.get("bound") is not None]
        least = min(bounded, key=lambda r: int(r["bound"])) if bounded else None
        lines.append([
            inst, f"{best['method']} ({best.get('time_limit', '?'):g} s)",
            _money(best["repaired"]), _money(gpux["surplus"]),
            _ratio(gpux["surplus"], best["repaired"], 5),
            f"{_money(least['bound'])} ({least['method']}, {least.get('time_limit', '?'):g} s)"
            if least else "—",
            _ratio(gpux["surplus"], least["bound"], 5) if least else "—",
        ])
    return _table(["instance", "best method (limit)", "best surplus after repair",
                   "gpux surplus", "gpux / best", "least proven bound (method, limit)",
                   "gpux / it"], lines)


def print_report(rows: list[Row], reference: list[Row] | None = None) -> None:
    """Print every table (and, given reference rows, gpux against the best of them)."""
    tables = [("Instances", sizes_table(rows)), ("Results", results_table(rows)),
              ("Ratios", ratios_table(rows)), ("gpux time", gpux_detail_table(rows)),
              ("Pricing errors on gpux's allocation (USD)", pricing_table(rows))]
    if reference:
        tables.append(("Against the best any method found", reference_table(rows, reference)))
    for title, table in tables:
        print(f"\n### {title}\n\n{table}")
