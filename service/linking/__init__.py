"""Links from the Samverkan KG to other public-sector datasets, always by a shared identifier, never by name.

- `wikidata`: skos:exactMatch links to Wikidata entities by SCB kommunkod, länskod and organisationsnummer.
- `kolada`: Kolada key figures (nyckeltal) as RDF Data Cube observations on our municipality IRIs.
"""
