"""Tables layer: links, quantities, report metadata, canonical indicators, periods, the targets
table, target attainment across reports, and the summary page."""
