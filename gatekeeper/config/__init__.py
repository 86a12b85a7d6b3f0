"""The policy file ``gatekeeper.toml`` (SPEC §4), read into frozen, validated values.

``loader`` reads the whole file into a ``Config``; each table has its module: ``service``
(``[service]``, ``[git]``), ``directory``, ``notify`` (``[notify]``, ``[itsm]``), ``drift``, ``ledger``
(``[ledger]``: witnesses), and
``policy`` (``[[repos]]``, ``[[categories]]``, ``[roles]``, read into ``gatekeeper.policy``'s values).
``toml`` reports **file:line: key** for every mistake. This face hands the names on.
"""

from gatekeeper.config.access import AccessConfig
from gatekeeper.config.directory import DirectoryConfig
from gatekeeper.config.drift import DriftConfig, DriftSource
from gatekeeper.config.ledger import LedgerConfig, WitnessConfig
from gatekeeper.config.loader import ENV_CONFIG, Config, check_groups, find_config_path, load, parse
from gatekeeper.config.notify import ItsmConfig, NotifyConfig, SmtpConfig, WebhookConfig
from gatekeeper.config.policy import RepoConfig
from gatekeeper.config.service import DEFAULT_PUSHER_ENV, LANGUAGES, GitConfig, ServiceConfig, resolve_database_url
from gatekeeper.config.toml import resolve_path

__all__ = [
    "DEFAULT_PUSHER_ENV",
    "ENV_CONFIG",
    "LANGUAGES",
    "AccessConfig",
    "Config",
    "DirectoryConfig",
    "DriftConfig",
    "DriftSource",
    "GitConfig",
    "ItsmConfig",
    "LedgerConfig",
    "NotifyConfig",
    "RepoConfig",
    "ServiceConfig",
    "SmtpConfig",
    "WebhookConfig",
    "WitnessConfig",
    "check_groups",
    "find_config_path",
    "load",
    "parse",
    "resolve_database_url",
    "resolve_path",
]
