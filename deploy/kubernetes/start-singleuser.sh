#!/bin/bash
# The pod's command (values.yaml singleuser.cmd): the attendee's workbook copy on their volume
# (new files only: nothing they changed is overwritten), their sandbox, then JupyterLab with the
# terminal `make lab` gives. The sandbox lives and dies with the pod.
set -euo pipefail
source_dir="${FLOVTRAIN_WORKBOOK_SOURCE:-/opt/flovtrain}"
export FLOVTRAIN_HOME="$HOME/.flovtrain"
python - "$source_dir" "$HOME" <<'PY'
import sys
from pathlib import Path
from flovtrain.hub.room import copy_workbook
print(f"{copy_workbook(Path(sys.argv[1]), Path(sys.argv[2]))} workbook files copied")
PY
flovtrain sandbox start
eval "$(flovtrain sandbox env)"
exec jupyterhub-singleuser \
  --ServerApp.terminado_settings="shell_command=['/bin/bash','--init-file','$source_dir/tools/lab_terminal.bashrc','-i']" \
  "$@"
