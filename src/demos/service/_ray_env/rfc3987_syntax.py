"""Refuses to import, in Ray's processes only: see this package's ``__init__``."""

raise ImportError("rfc3987_syntax is left out of Ray's processes (demos.service._ray_env)")
