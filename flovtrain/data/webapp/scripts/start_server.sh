#!/bin/bash
# Start the app in the background. In the flovtrain sandbox each "instance" has its own root
# folder and loopback address; on real EC2 both variables are unset (/ and all interfaces).
set -euo pipefail
APP_DIR="${FLOVTRAIN_INSTANCE_ROOT:-}/opt/webapp"
HOST="${FLOVTRAIN_INSTANCE_ADDRESS:-0.0.0.0}"
cd "$APP_DIR"
nohup python3 -m webapp --host "$HOST" --port 8090 > "$APP_DIR/webapp.log" 2>&1 &
echo $! > "$APP_DIR/webapp.pid"
