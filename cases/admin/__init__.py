"""The engineers' workbench; importing the package registers every admin."""

from cases.admin import case, inbound, macros, service_levels  # noqa: F401 - registers the admins
from cases.admin.case import LargeTablePaginator

__all__ = ["LargeTablePaginator"]
