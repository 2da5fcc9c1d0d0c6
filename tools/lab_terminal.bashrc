# The bash of JupyterLab's terminal under `make lab` (an interactive, non-login shell: Debian's
# /etc/profile would reset PATH and drop the venv). The user's own set-up first, then the
# workbook's venv first on PATH and the sandbox's variables, so `aws`, `git` and `flovtrain`
# talk to the sandbox.
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
if [ -n "${FLOVTRAIN_VENV_BIN:-}" ]; then
  export PATH="$FLOVTRAIN_VENV_BIN:$PATH"
fi
if sandbox_env="$(flovtrain sandbox env 2>/dev/null)"; then
  eval "$sandbox_env"
else
  echo "flovtrain: the sandbox is not running: flovtrain sandbox start" >&2
fi
unset sandbox_env
