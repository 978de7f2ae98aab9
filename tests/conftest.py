import pytest
from django.core.cache import cache
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from portal.celery import app as celery_app


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Uploads go to a temporary folder; tasks run inline unless a test starts a worker.

    The rest of what tests need (a fast hasher, a cache per process) is in
    `portal/settings/test.py`."""
    settings.MEDIA_ROOT = tmp_path / "media"
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3-compatible HTTP endpoint on loopback, started once per test process."""
    from tests.storage import S3Endpoint

    endpoint = S3Endpoint()
    yield endpoint
    endpoint.stop()


@pytest.fixture(params=["disk", "s3"])
def file_storage(request, settings):
    """Runs the test with attachments on the local disk, then in a private S3 bucket (a
    new one per test); returns the storage attachments are written to."""
    from django.core.files.storage import default_storage

    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": endpoint.storage_settings(endpoint.new_bucket()),
        }
    return default_storage


@pytest.fixture
def organisation():
    from tests.factories import OrganisationFactory

    return OrganisationFactory()


@pytest.fixture
def customer(organisation):
    from tests.factories import customer

    return customer(organisation)


@pytest.fixture
def engineer(db):
    from tests.factories import EngineerFactory

    return EngineerFactory()


@pytest.fixture
def stranger(db):
    """A customer of another organisation."""
    from tests.factories import customer

    return customer()


@pytest.fixture(autouse=True)
def _support_engineers_group_after_flush(request):
    """Put the "Support engineers" group back for tests with real transactions.

    Those tests end by flushing every table; the group and its permissions come from a
    data migration, so the next such test would find no group at all.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        # A test in a transaction may still run after a flush on the same worker.
        request.getfixturevalue("db")
    else:
        return
    import importlib

    from django.contrib.auth.models import Group, Permission

    migration = importlib.import_module("cases.migrations.0003_support_engineers_and_guards")
    group, created = Group.objects.get_or_create(name=migration.GROUP)
    if created:
        for app_label, model, codenames in migration.PERMISSIONS:
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label,
                    content_type__model=model,
                    codename__in=codenames,
                )
            )
        group.permissions.add(*Permission.objects.filter(codename="view_inboundemail"))


@receiver(post_migrate)
def _seeded_data_survives_flush(sender, **kwargs):
    """A real-transaction test ends with a flush, which re-sends post_migrate but does not
    re-run data migrations: put the engineers' group and the seeded service-level policy
    back for every test after it."""
    if sender.name == "cases":
        from importlib import import_module

        from django.apps import apps

        from tests.factories import support_engineers_group

        support_engineers_group()
        import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)


@pytest.fixture
def email_webhooks(settings):
    """The inbound and tracking webhooks configured as `tests.cases.email_webhooks` posts."""
    from tests.cases import email_webhooks as hooks

    hooks.configure(settings)


@pytest.fixture
def asked_case(db):
    """A case an engineer asked a question on: Pending Customer, question emailed."""
    from cases import services
    from cases.models import Case
    from tests.factories import CaseFactory, EngineerFactory

    engineer = EngineerFactory()
    case = CaseFactory(in_progress=True, engineer=engineer)
    services.case_request_info(
        case=case, engineer=engineer, message="Please send the job's logs.", kind="logs"
    )
    return Case.objects.get(pk=case.pk)
