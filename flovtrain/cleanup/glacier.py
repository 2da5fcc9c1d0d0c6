"""Cleanup of S3 Glacier: chapter 09's vaults (by name)."""

from __future__ import annotations

from flovtrain.cleanup._registry import call_with_id, declare, named_ours

VAULT = declare(
    "glacier vault",
    180,
    ("list_vaults", "VaultList"),
    named_ours(
        "09",
        name=lambda vault: vault["VaultName"],
        id_=lambda vault: vault["VaultARN"],
        unless_owned=False,
    ),
    call_with_id("glacier", "delete_vault", "vaultName", column="name"),
    "delete its archives, then delete_vault (AWS: only after the next inventory, up to a day)",
    billable=True,
)
