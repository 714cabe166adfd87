"""The migration engine: plain Python classes that move Cliniko records into Odoo, in layers
(each imports only from those below it; ``.importlinter`` keeps the order):

1. ``values`` (text, ids, dates, e-mails, phone numbers), ``rendering`` (history as HTML),
   ``graph`` (the resources, their load order and every fact about each), ``context`` (the
   side-effect-free write context), ``snapshots`` (a record's values as JSON and back) and
   ``options`` (what a run asks of its importers): pure rules and data.
2. ``binder`` (Cliniko id <-> Odoo record, through ``cliniko.external.ref``) and ``conflicts``.
3. ``importer``: the template every resource importer follows, and their registry.
4. The resource importers, one module per group (``all_importers`` loads them all).
5. ``runner``: executes a ``cliniko.migration.run`` and rolls it back.
6. Built on runs: ``delta``, ``sample``, ``verify``, ``export_import``, ``source_audit``.
"""
