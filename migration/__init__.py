"""The migration engine: plain Python classes that move Cliniko records into Odoo.

- ``graph``: the declared dependency graph of Cliniko resources (load order, rollback order).
- ``context``: the one place that defines the side-effect-free write context.
- ``values`` (text, ids, dates, e-mails, phone numbers), ``rendering`` (history as HTML) and
  the ``map_*`` functions: pure mapping rules, testable without a database.
- ``binder``: Cliniko id <-> Odoo record, through ``cliniko.external.ref``.
- ``importer``: the template every resource importer follows.
- ``runner``: executes a ``cliniko.migration.run`` and rolls it back.
"""
