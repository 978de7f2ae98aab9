"""The "Support engineers" group with exactly what the workbench needs, and database
guards so that no code path (raw SQL included) deletes support history on PostgreSQL."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Support engineers"
PERMISSIONS = [
    ("cases", "case", ["view_case", "change_case", "work_case"]),
    ("cases", "message", ["view_message"]),
    ("cases", "attachment", ["view_attachment"]),
    ("cases", "caseevent", ["view_caseevent"]),
    ("cases", "notification", ["view_notification"]),
    ("portal", "user", ["view_user"]),
    ("portal", "organisation", ["view_organisation"]),
    ("portal", "membership", ["view_membership"]),
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; the group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, model, codenames in PERMISSIONS:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=codenames,
            )
        )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


GUARDS_SQL = """
CREATE OR REPLACE FUNCTION portal_refuse_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE =
        'Support history is never deleted or rewritten: ' || TG_OP || ' on ' || TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER case_never_deleted BEFORE DELETE ON cases_case
    FOR EACH ROW EXECUTE FUNCTION portal_refuse_history_change();
CREATE TRIGGER message_never_deleted BEFORE DELETE ON cases_message
    FOR EACH ROW EXECUTE FUNCTION portal_refuse_history_change();
CREATE TRIGGER attachment_never_deleted BEFORE DELETE ON cases_attachment
    FOR EACH ROW EXECUTE FUNCTION portal_refuse_history_change();
CREATE TRIGGER caseevent_append_only BEFORE UPDATE OR DELETE ON cases_caseevent
    FOR EACH ROW EXECUTE FUNCTION portal_refuse_history_change();
"""

DROP_GUARDS_SQL = """
DROP TRIGGER IF EXISTS case_never_deleted ON cases_case;
DROP TRIGGER IF EXISTS message_never_deleted ON cases_message;
DROP TRIGGER IF EXISTS attachment_never_deleted ON cases_attachment;
DROP TRIGGER IF EXISTS caseevent_append_only ON cases_caseevent;
DROP FUNCTION IF EXISTS portal_refuse_history_change();
"""


def add_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS_SQL)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GUARDS_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_initial"),
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_group, remove_group),
        migrations.RunPython(add_guards, drop_guards),
    ]
