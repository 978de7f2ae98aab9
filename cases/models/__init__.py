from cases.models.case import *  # noqa: F403
from cases.models.case import attachment_upload_to  # noqa: F401 - named by migration 0001
