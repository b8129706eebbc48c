#!/bin/sh
# Joins three Apache CouchDB 3 nodes into one cluster with the `_cluster_setup` API.
# Idempotent: a cluster that is already finished is only checked, never set up again.
#
#   COUCHDB_USER=admin COUCHDB_PASSWORD=… NODES="couchdb-1.onetrip.internal couchdb-2.onetrip.internal
#   couchdb-3.onetrip.internal" LOCAL_INI=/etc/onetrip/local.ini sh cluster-setup.sh
#
# The first node of NODES coordinates the set-up (CouchDB has no master node; it is only the
# one these requests go to). Run by the `cluster-setup` job of deploy/compose.yaml, or by hand
# from any machine that reaches port 5984 of every node (docs/deploy.md, "CouchDB cluster").
# Needs only POSIX sh and curl. The password never appears on a command line: curl reads the
# credentials from a netrc file that is deleted on exit.
set -eu

: "${COUCHDB_USER:=admin}"
: "${COUCHDB_PASSWORD:?COUCHDB_PASSWORD is not set (deploy/.env)}"
: "${NODES:?NODES must list the three node host names}"
PORT="${COUCHDB_PORT:-5984}"
WAIT_SECONDS="${WAIT_SECONDS:-180}"

if [ -n "${LOCAL_INI:-}" ] && grep -q 'REPLACE_WITH_THE_COUCHDB_ADMIN_PASSWORD' "$LOCAL_INI"; then
    echo "refusing: $LOCAL_INI still holds the [admins] placeholder; set the real password first" >&2
    exit 1
fi
case "$COUCHDB_PASSWORD" in
    *'"'*|*'\'*) echo "refusing: use a password without quotes or backslashes" >&2; exit 1 ;;
esac

netrc="$(mktemp)"
trap 'rm -f "$netrc"' EXIT
for node in $NODES; do
    printf 'machine %s login %s password %s\n' "$node" "$COUCHDB_USER" "$COUCHDB_PASSWORD" >>"$netrc"
done

couch() {  # couch METHOD HOST PATH [JSON BODY] → prints the answer, fails on HTTP errors
    if [ $# -ge 4 ]; then
        curl -fsS --netrc-file "$netrc" -X "$1" -H 'Content-Type: application/json' \
            "http://$2:$PORT$3" -d "$4"
    else
        curl -fsS --netrc-file "$netrc" -X "$1" "http://$2:$PORT$3"
    fi
}

# 1. Wait until every node answers with our credentials (a 401 means local.ini and .env disagree).
for node in $NODES; do
    waited=0
    until couch GET "$node" /_up >/dev/null 2>&1; do
        if [ "$waited" -ge "$WAIT_SECONDS" ]; then
            echo "node $node did not answer on port $PORT with the admin credentials" >&2
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
    echo "node $node is up"
done

set -- $NODES
coordinator="$1"
count=$#

state="$(couch GET "$coordinator" /_cluster_setup)"
case "$state" in
    *cluster_finished*)
        echo "cluster already set up: $state"
        ;;
    *)
        # 2. Enable clustering on the coordinator, then on each other node through it.
        couch POST "$coordinator" /_cluster_setup "{\"action\": \"enable_cluster\", \"bind_address\": \"0.0.0.0\", \
\"username\": \"$COUCHDB_USER\", \"password\": \"$COUCHDB_PASSWORD\", \"node_count\": \"$count\"}" || true
        echo
        shift
        for node in "$@"; do
            couch POST "$coordinator" /_cluster_setup "{\"action\": \"enable_cluster\", \"bind_address\": \"0.0.0.0\", \
\"username\": \"$COUCHDB_USER\", \"password\": \"$COUCHDB_PASSWORD\", \"port\": $PORT, \"node_count\": \"$count\", \
\"remote_node\": \"$node\", \"remote_current_user\": \"$COUCHDB_USER\", \
\"remote_current_password\": \"$COUCHDB_PASSWORD\"}" || true
            echo
            # 3. Join it.
            couch POST "$coordinator" /_cluster_setup "{\"action\": \"add_node\", \"host\": \"$node\", \
\"port\": $PORT, \"username\": \"$COUCHDB_USER\", \"password\": \"$COUCHDB_PASSWORD\"}" \
                || echo "add_node $node refused (already a member?); checked below" >&2
            echo
        done
        # 4. Finish: creates _users and _replicator across the cluster.
        couch POST "$coordinator" /_cluster_setup '{"action": "finish_cluster"}'
        echo
        ;;
esac

# 5. Check: every node is connected. CouchDB answers {"all_nodes": [connected…],
# "cluster_nodes": [expected…]}; only the part before "cluster_nodes" proves a connection.
membership="$(couch GET "$coordinator" /_membership)"
echo "membership: $membership"
connected="${membership%%\"cluster_nodes\"*}"
for node in $NODES; do
    case "$connected" in
        *"@$node\""*) ;;
        *) echo "node $node is not connected (see all_nodes above)" >&2; exit 1 ;;
    esac
done
state="$(couch GET "$coordinator" /_cluster_setup)"
case "$state" in
    *cluster_finished*) echo "cluster ready: $state" ;;
    *) echo "cluster set-up did not finish: $state" >&2; exit 1 ;;
esac
