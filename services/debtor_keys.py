"""The debtor vault the settings describe: master keys and the lookup key."""

from __future__ import annotations

import logging

from services.config import Settings
from storage.debtor_vault import DebtorVault
from storage.key_ring import KeyRing, b64decode_lenient, load_or_generate_key_file

log = logging.getLogger("recouvre.debtor_keys")
DEV_DATA_KEYS_FILE = "data-keys"
DEV_INDEX_KEY_FILE = "debtor-index-key"


def debtor_vault(settings: Settings) -> DebtorVault:
    """RECOUVRE_DATA_KEYS and RECOUVRE_DEBTOR_INDEX_KEY, else development keys kept under
    RECOUVRE_VAR_DIR (every process of one installation reads the same files)."""
    spec = settings.data_keys
    if not spec.strip():
        path = settings.var_dir / DEV_DATA_KEYS_FILE
        log.info("RECOUVRE_DATA_KEYS is not set: debtor data keys are wrapped by the "
                 "development key in %s (set it in production)", path)  # fmt: skip
        spec = load_or_generate_key_file(path)
    masters = KeyRing.parse(spec, settings.data_key_id, setting="RECOUVRE_DATA_KEYS")
    index = settings.debtor_index_key
    if not index.strip():
        # The same file format as the key rings: one id:base64key entry.
        entry = load_or_generate_key_file(settings.var_dir / DEV_INDEX_KEY_FILE)
        index = entry.partition(":")[2]
    key = b64decode_lenient(index)
    if len(key) != 32:
        raise ValueError(f"RECOUVRE_DEBTOR_INDEX_KEY has {len(key)} bytes; it needs 32")
    return DebtorVault(masters, key)
