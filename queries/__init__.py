"""Named questions over the graph: blast radius, confused-deputy paths and path search."""
