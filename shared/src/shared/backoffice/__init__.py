"""Back office domain: organisation, staff, assignments, permissions, data import, catalog, ads."""
