"""Command line: `python3 -m analysis {table,report} RESULTS ...` (see --help).

Bad input (a missing file, a file that is not an ordertune results file, a missing dataset)
ends with one line on stderr naming the file and what was expected, and exit code 2, like the
C++ tools (README, "Bad input stops with one line").
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from analysis import load
from analysis.effects import Resampling

EXIT_BAD_INPUT = 2

DESCRIPTION = """\
Post-hoc analysis of an ordertune results file (README: "Results file"). The file is opened
read-only without locking, so it can be analysed while `ordertune sweep` still writes it; only
finished nodes count."""

EPILOG = """\
examples:
  python3 -m analysis table results/demo.h5 --out table.csv
  python3 -m analysis report results/demo.h5 --out reports/demo
run from the checkout root with Debian's interpreter (/usr/bin/python3: h5py, pandas, scipy,
matplotlib)."""


def _table(args) -> None:
    table = load.metric_table(load.load_results(args.results))
    to_file = args.out not in (None, "-")
    with open(args.out, "w", encoding="utf-8") if to_file else contextlib.nullcontext(sys.stdout) as out:
        out.write("seed,order,target,language,split,metric,value\n")
        for r in table.itertuples(index=False):
            # %.17g as the C++ table (results.cpp: fmt "{:.17g}"): the same text, round-trip exact.
            out.write(f"{r.seed},{r.order},{r.target},{r.language},{r.split},{r.metric},"
                      f"{r.value:.17g}\n")


def _report(args) -> None:
    from analysis.report import write_report  # matplotlib only where figures are drawn

    res = load.load_results(args.results)
    path = write_report(res, args.out, Resampling(args.bootstrap, args.permutations, args.seed), args.top)
    print(path)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m analysis", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="{table,report}")
    t = sub.add_parser("table", help="the tidy table: seed,order,target,language,split,metric,value",
                       description="One row per finished (seed, order, target, language, metric): the "
                                   "same rows as `ordertune results RESULTS`. order is 'a>b>c', empty "
                                   "for the baseline; seed is the replicate.")
    t.add_argument("results", help="ordertune results file (HDF5)")
    t.add_argument("--out", metavar="FILE.csv", help="output CSV (default: standard output)")
    t.set_defaults(run=_table)
    r = sub.add_parser("report", help="report.md with figures: order, precedence and position effects",
                       description="Writes DIR/report.md, its PNG figures and CSV tables, and prints "
                                   "the report's path: scores per order against the baseline and "
                                   "mixture stages, pairwise precedence effects, position effects, "
                                   "a variance decomposition (task set / order / seed), per-target "
                                   "and per-language heatmaps, best and worst orders, the sweep "
                                   "timeline and loss curves.")
    r.add_argument("results", help="ordertune results file (HDF5)")
    r.add_argument("--out", metavar="DIR", required=True, help="output directory (created if missing)")
    r.add_argument("--bootstrap", type=_positive, default=2000, metavar="N",
                   help="bootstrap resamples per interval (default 2000)")
    r.add_argument("--permutations", type=_positive, default=10000, metavar="N",
                   help="sign flips per test; exact enumeration when 2^clusters <= N (default 10000)")
    r.add_argument("--seed", type=int, default=0, help="random seed of the resampling (default 0)")
    r.add_argument("--top", type=_positive, default=10, metavar="K", help="best and worst orders listed (default 10)")
    r.set_defaults(run=_report)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except load.ResultsFileError as e:
        print(f"analysis: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
