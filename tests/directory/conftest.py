"""Directory test fixtures: one real throwaway slapd for the whole session (tests/support/slapd.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatekeeper.directory.ldap import LdapDirectory
from tests.support.slapd import SERVICE_PASSWORD, Slapd, running_slapd


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    """slapd with StartTLS and ldaps:// enabled; tests that stop it must start it again."""
    with running_slapd(tls=True) as server:
        yield server


@pytest.fixture
def ldap_directory(slapd: Slapd) -> Iterator[LdapDirectory]:
    """The plant directory as Gatekeeper sees it with the default OpenLDAP settings."""
    directory = LdapDirectory(slapd.config(), password=SERVICE_PASSWORD)
    yield directory
    directory.close()
