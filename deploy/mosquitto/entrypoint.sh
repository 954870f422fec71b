#!/bin/sh
# Creates the dynamic-security state with flowmesh's admin user on the first start (the volume
# keeps it, with every device client flowmesh provisions), then runs the broker.
set -eu
state=/mosquitto/data/dynamic-security.json
if [ ! -f "$state" ]; then
  : "${MQTT_ADMIN_PASSWORD:?set MQTT_ADMIN_PASSWORD, the password of flowmesh's broker user}"
  mosquitto_ctrl dynsec init "$state" "${MQTT_ADMIN_USERNAME:-flowmesh}" "$MQTT_ADMIN_PASSWORD"
  chown mosquitto:mosquitto "$state" 2>/dev/null || true
fi
exec mosquitto -c /mosquitto/config/mosquitto.conf
