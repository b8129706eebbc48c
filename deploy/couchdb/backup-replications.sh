#!/bin/sh
# Continuous replication of every OneTrip database from the cluster to the backup node.
# Idempotent: one `_replicator` document per database, `backup-<db>`; existing ones are left
# alone (409), so run it again after registering new villages (each has its own database).
#
#   COUCHDB_PASSWORD=… SOURCE=http://couchdb-1.onetrip.internal:5984 \
#   TARGET=http://couchdb-backup.onetrip.internal:5984 sh backup-replications.sh
#
# The replications run inside the cluster (its `_replicator` database), not in this script:
# the script only files them. Same admin user on both sides. Needs POSIX sh and curl.
set -eu

: "${COUCHDB_USER:=admin}"
: "${COUCHDB_PASSWORD:?COUCHDB_PASSWORD is not set (deploy/.env)}"
: "${SOURCE:?SOURCE is the cluster URL without credentials}"
: "${TARGET:?TARGET is the backup node URL without credentials}"
# CouchDB 3 requires the target user to exist on the backup node; it does: same admin.
case "$COUCHDB_PASSWORD" in
    *'"'*|*'\'*) echo "refusing: use a password without quotes or backslashes" >&2; exit 1 ;;
esac

netrc="$(mktemp)"
trap 'rm -f "$netrc"' EXIT
for url in "$SOURCE" "$TARGET"; do
    host="${url#*://}"; host="${host%%[:/]*}"
    printf 'machine %s login %s password %s\n' "$host" "$COUCHDB_USER" "$COUCHDB_PASSWORD" >>"$netrc"
done

# The OneTrip databases: ot-catalog, ot-auth, ot-server and one ot-v-<village> per village.
dbs="$(curl -fsS --netrc-file "$netrc" "$SOURCE/_all_dbs" | tr -d '[]"' | tr ',' '\n' | grep '^ot-' || true)"
if [ -z "$dbs" ]; then
    echo "no ot-* databases on $SOURCE yet: start the OneTrip servers first" >&2
    exit 1
fi

auth="\"auth\": {\"basic\": {\"username\": \"$COUCHDB_USER\", \"password\": \"$COUCHDB_PASSWORD\"}}"
filed=0
kept=0
for db in $dbs; do
    doc="{\"source\": {\"url\": \"$SOURCE/$db\", $auth}, \"target\": {\"url\": \"$TARGET/$db\", $auth}, \
\"create_target\": true, \"continuous\": true}"
    status="$(curl -sS --netrc-file "$netrc" -o /dev/null -w '%{http_code}' -X PUT \
        -H 'Content-Type: application/json' "$SOURCE/_replicator/backup-$db" -d "$doc")"
    case "$status" in
        201|202) filed=$((filed + 1)); echo "filed backup-$db" ;;
        409) kept=$((kept + 1)) ;;
        *) echo "PUT _replicator/backup-$db answered HTTP $status" >&2; exit 1 ;;
    esac
done
echo "backup replications: $filed filed now, $kept already present"
echo "state: curl -u $COUCHDB_USER $SOURCE/_scheduler/docs/_replicator"
