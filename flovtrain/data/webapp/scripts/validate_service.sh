#!/bin/bash
# Fail the deployment unless the new version answers on port 8090 within 10 seconds.
HOST="${FLOVTRAIN_INSTANCE_ADDRESS:-127.0.0.1}"
APP_DIR="${FLOVTRAIN_INSTANCE_ROOT:-}/opt/webapp"
for _ in $(seq 1 50); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://$HOST:8090/health', timeout=1)" 2>/dev/null; then
    echo "webapp answers on http://$HOST:8090"
    exit 0
  fi
  sleep 0.2
done
echo "webapp did not answer on http://$HOST:8090; its log:"
cat "$APP_DIR/webapp.log" 2>/dev/null
exit 1
