"""Directory adapters behind one interface (``base.Directory``): the file directory or LDAP/AD."""

from __future__ import annotations

from gatekeeper.config import Config, check_groups
from gatekeeper.directory.base import Directory
from gatekeeper.errors import ConfigError

__all__ = ["Directory", "open_directory"]


def open_directory(config: Config, *, check: bool = True) -> Directory:
    """Build the configured directory; with ``check``, every group the policy names must exist."""
    d = config.directory
    directory: Directory
    if d.kind == "file":
        from gatekeeper.directory.file import FileDirectory

        if d.path is None:
            raise ConfigError("directory.path is required", file=str(config.path), key="directory.path")
        directory = FileDirectory(d.path)
    else:
        from gatekeeper.directory.ldap import LdapDirectory

        directory = LdapDirectory(d, password=config.secret(d.bind_password_env, "directory.bind_password_env"))
    if check:
        check_groups(config, exists=directory.group_exists)
    return directory
