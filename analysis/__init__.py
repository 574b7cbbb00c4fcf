"""Post-hoc analysis of an ordertune results file (README: "Results file").

Run from the checkout root with Debian's interpreter:

    /usr/bin/python3 -m analysis table  results/demo.h5 --out table.csv
    /usr/bin/python3 -m analysis report results/demo.h5 --out reports/demo

Modules, one concern each:
    load     the HDF5 results file -> tidy pandas tables (read-only, also mid-sweep)
    effects  statistics: order scores, precedence and position effects, variance decomposition
    figures  matplotlib figures (Agg backend, PNG)
    report   report.md that answers the research question, with the figures
"""
