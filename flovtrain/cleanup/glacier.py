"""Cleanup of S3 Glacier: chapter 09's vaults (by name)."""

from __future__ import annotations

from flovtrain.cleanup._registry import Kind, call_with_id, listed, named_ours, register

VAULT = register(
    Kind(
        "glacier vault",
        "glacier",
        order=180,
        list=listed("glacier", "list_vaults", "VaultList"),
        describe=named_ours(
            "09",
            name=lambda vault: vault["VaultName"],
            id_=lambda vault: vault["VaultARN"],
            unless_owned=False,
        ),
        delete=call_with_id("glacier", "delete_vault", "vaultName", column="name"),
        removal="delete its archives, then delete_vault (AWS: only after the next inventory, up to "
        "a day)",
        billable=True,
    )
)
