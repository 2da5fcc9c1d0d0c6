#!/bin/bash
# Stop the previous version, if one runs (the first deployment has nothing to stop).
APP_DIR="${FLOVTRAIN_INSTANCE_ROOT:-}/opt/webapp"
if [ -f "$APP_DIR/webapp.pid" ]; then
  kill "$(cat "$APP_DIR/webapp.pid")" 2>/dev/null || true
  rm -f "$APP_DIR/webapp.pid"
  sleep 0.3
fi
exit 0
