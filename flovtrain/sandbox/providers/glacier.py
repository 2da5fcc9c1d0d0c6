"""Glacier provider: a vault that does not exist is ``ResourceNotFoundException``, as on AWS.

moto 5.2.5 answers a missing vault with its own ``VaultNotFound`` (a code no client knows) from
most operations and with an internal error (``KeyError``) from ``DeleteVault``. AWS answers
``ResourceNotFoundException`` (HTTP 404) with ``Vault not found for ARN: <vault ARN>``. Every
vault operation of moto's backend looks the vault up through ``describe_vault``, so one patch
there (and ``delete_vault`` routed through it) covers them all.
"""

from __future__ import annotations

from typing import Any

from flovtrain.sandbox.seam import AwsError, Provider, after_import


def vault_not_found(account_id: str, region: str, name: str) -> AwsError:
    """AWS's error for a vault that does not exist.

    Examples
    --------
    >>> vault_not_found("123456789012", "eu-west-1", "logs").message
    'Vault not found for ARN: arn:aws:glacier:eu-west-1:123456789012:vaults/logs'
    """
    return AwsError(
        "ResourceNotFoundException",
        f"Vault not found for ARN: arn:aws:glacier:{region}:{account_id}:vaults/{name}",
        404,
    )


def _patch_backend() -> None:
    from moto.glacier.models import GlacierBackend

    if getattr(GlacierBackend, "_flovtrain_patched", False):
        return

    def describe_vault(self: Any, vault_name: str) -> Any:
        if vault_name not in self.vaults:
            raise vault_not_found(self.account_id, self.region_name, vault_name)
        return self.vaults[vault_name]

    def delete_vault(self: Any, vault_name: str) -> None:
        self.describe_vault(vault_name)
        self.vaults.pop(vault_name)

    GlacierBackend.describe_vault = describe_vault
    GlacierBackend.delete_vault = delete_vault
    GlacierBackend._flovtrain_patched = True


def setup() -> None:
    after_import("moto.glacier.models", _patch_backend)


PROVIDER = Provider(name="glacier", service="glacier", setup=setup)
