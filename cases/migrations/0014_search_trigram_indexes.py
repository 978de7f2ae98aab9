"""Trigram indexes for the engineers' case search on PostgreSQL.

`icontains` compiles to `UPPER(column::text) LIKE UPPER(...)`; a GIN trigram index on that
expression answers it without reading the whole table (see
`cases.selectors.case_search_for_staff`). Built CONCURRENTLY so that a release does not
lock the case table while it builds. Other databases search without them.
"""

from django.db import migrations

INDEXES = [
    ("case_subject_trgm", "cases_case", "subject"),
    ("user_email_trgm", "portal_user", "email"),
    ("organisation_name_trgm", "portal_organisation", "name"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cases", "0013_rules_reminder_columns"),
        ("portal", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
