import pytest
from django.core.cache import cache

from portal.celery import app as celery_app


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Uploads go to a temporary folder; tasks run inline unless a test starts a worker."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.AXES_ENABLED = True
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield
    celery_app.conf.task_always_eager = False


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
