#!/usr/bin/env bash
# Start a local PostgreSQL server for the store tests (Debian/Ubuntu, as root), with a
# role "assay" (password "assay") and a database "assay_test" that the role owns:
#   postgresql://assay:assay@127.0.0.1:5432/assay_test
# Idempotent and quiet: installs PostgreSQL if missing, starts the cluster if stopped,
# creates the role and database if absent. The role may create databases, so the tests
# can give each test module a database of its own.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /etc/postgresql | sort -V | tail -n 1)"
if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
    pg_ctlcluster "$version" main start
fi

psql_admin() {
    su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -tA -c \"$1\""
}

for _ in $(seq 1 50); do
    psql_admin "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.2
done

if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'assay'")" != "1" ]; then
    psql_admin "CREATE ROLE assay LOGIN CREATEDB PASSWORD 'assay'" >/dev/null
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'assay_test'")" != "1" ]; then
    psql_admin "CREATE DATABASE assay_test OWNER assay" >/dev/null
fi
