"""Tables layer: links, quantities, report metadata, the targets table and its summary page."""
