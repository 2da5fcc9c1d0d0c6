"""Cleanup of S3 Glacier: chapter 09's vaults (by name)."""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._registry import Kind, Scan, listed, named_ours, register


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    scan.client("glacier", row["region"]).delete_vault(vaultName=row["name"])


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
        delete=_delete,
        removal="delete its archives, then delete_vault (AWS: only after the next inventory, up to "
        "a day)",
        billable=True,
    )
)
