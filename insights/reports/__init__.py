"""Client reports: one report model built from snapshots (build.py), drawn as SVG (charts.py) and
rendered as the page, the PDF (pdf.py) and the data exports (exports.py). Reads snapshots only:
nothing here calls Meta."""
