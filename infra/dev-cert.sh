#!/bin/sh
# A self-signed TLS certificate for development, so that other devices on the LAN (a phone) can use the
# call page: browsers give camera access only on https:// or localhost. Valid for localhost and every
# address of this machine, for 30 days. Serve with:
#   TLS_CERT=<dir>/cert.pem TLS_KEY=<dir>/key.pem npm start
# Browsers warn about a self-signed certificate: accept it once per device.
set -eu
dir=${1:-.cache/dev-cert}
mkdir -p "$dir"
names="DNS:localhost,IP:127.0.0.1"
host=$(hostname 2>/dev/null || true)
[ -n "$host" ] && names="$names,DNS:$host"
for address in $(hostname -I 2>/dev/null || true); do
  case "$address" in
    *:*) ;; # IPv6: browsers on a LAN reach this machine by its IPv4 address
    *) names="$names,IP:$address" ;;
  esac
done
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=affect-call development" \
  -addext "subjectAltName=$names" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
chmod 600 "$dir/key.pem"
echo "certificate for $names"
echo "TLS_CERT=$dir/cert.pem TLS_KEY=$dir/key.pem"
