"""Source formats -> typed records, once, at the edge.

One module per format that needs more than a few lines to read safely, called by every path
that meets the format, live or archive:

- :mod:`collectors.parsers.feed`: RSS, Atom, RDF and JSON Feed bodies -> documents
  (charset detection, UTF-16/32 without a BOM, the DTD guard, feedparser).
- :mod:`collectors.parsers.xml_guard`: the DOCTYPE/entity guard run before any XML parser.
- :mod:`collectors.parsers.jsonfeed`: JSON Feed 1.0/1.1 -> feedparser-shaped entries.
- :mod:`collectors.parsers.reddit`: Reddit submissions and comments -> documents, for the
  live collector and the dump importer alike.
"""
