#!/usr/bin/env bash
# test-services.sh — make sure the services that integration tests need are
# running on this machine (Debian 12, run as root; no systemd needed):
#
#   PostgreSQL  127.0.0.1:5432, role clipmesh/clipmesh with LOGIN CREATEDB
#   Redis       127.0.0.1:6379
#
# It installs the Debian packages postgresql and redis-server when missing,
# starts whatever is not answering, and waits (bounded) until both answer.
# Idempotent: a second run only checks, and takes well under a second.
#
# Progress goes to stderr; stdout carries only the environment for the tests:
#
#   eval "$(scripts/test-services.sh)"
#   cd platform && go test ./store/...
set -euo pipefail

readonly PG_HOST=127.0.0.1 PG_PORT=5432
readonly PG_ROLE=clipmesh PG_PASSWORD=clipmesh
readonly REDIS_HOST=127.0.0.1 REDIS_PORT=6379
readonly WAIT_SECONDS=30
readonly REDIS_LOG=/tmp/clipmesh-test-redis.log

log() { printf 'test-services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# run CMD...: runs a command with its output captured, and shows that output
# (on stderr) only if the command fails.
run() {
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /' >&2
		return 1
	fi
}

need_root() {
	[[ ${EUID} -eq 0 ]] || die "must run as root to $*"
}

# wait_for CMD...: polls CMD every 0.2s for up to WAIT_SECONDS.
wait_for() {
	local tries=$((WAIT_SECONDS * 5))
	while ((tries-- > 0)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

ensure_packages() {
	local missing=() pkg
	for pkg in postgresql redis-server; do
		if ! dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("${pkg}")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	need_root "install ${missing[*]}"
	log "installing ${missing[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	run apt-get update -q || die "apt-get update failed"
	run apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
}

pg_ready() { pg_isready -q -h "${PG_HOST}" -p "${PG_PORT}" -t 2; }

ensure_postgres() {
	if pg_ready; then
		log "postgresql: already accepting connections on ${PG_HOST}:${PG_PORT}"
		return 0
	fi
	need_root "start postgresql"
	# The cluster on our port, else create one with the newest installed version.
	local cluster ver name status
	cluster=$(pg_lsclusters --no-header 2>/dev/null | awk -v p="${PG_PORT}" '$3 == p {print $1, $2, $4; exit}') || true
	if [[ -z ${cluster} ]]; then
		ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1) || true
		[[ -n ${ver} ]] || die "postgresql: no server version under /usr/lib/postgresql"
		log "postgresql: creating cluster ${ver}/main on port ${PG_PORT}"
		run pg_createcluster --port "${PG_PORT}" "${ver}" main ||
			die "postgresql: pg_createcluster ${ver} main failed"
		cluster="${ver} main down"
	fi
	read -r ver name status <<<"${cluster}"
	if [[ ${status} != online* ]]; then
		log "postgresql: starting cluster ${ver}/${name}"
		if ! run pg_ctlcluster "${ver}" "${name}" start; then
			log "postgresql: pg_ctlcluster failed, trying 'service postgresql start'"
			run service postgresql start || true
		fi
	fi
	log "postgresql: waiting for ${PG_HOST}:${PG_PORT}"
	wait_for pg_ready || die "postgresql: not accepting connections on \
${PG_HOST}:${PG_PORT} after ${WAIT_SECONDS}s; see /var/log/postgresql/postgresql-${ver}-${name}.log"
}

# role_ok: the clipmesh role logs in over TCP with its password and may create databases.
role_ok() {
	local can
	can=$(PGPASSWORD="${PG_PASSWORD}" PGCONNECT_TIMEOUT=5 psql -X -w -q -tA \
		-h "${PG_HOST}" -p "${PG_PORT}" -U "${PG_ROLE}" -d postgres \
		-c 'SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user' 2>/dev/null) || return 1
	[[ ${can} == t ]]
}

# as_postgres SQL: runs SQL as the postgres superuser over the local socket.
as_postgres() {
	(cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -tA -p "${PG_PORT}" -d postgres -c "$1")
}

ensure_role() {
	if role_ok; then
		log "postgresql: role ${PG_ROLE} ready"
		return 0
	fi
	need_root "create the postgresql role ${PG_ROLE}"
	local exists
	exists=$(as_postgres "SELECT 1 FROM pg_roles WHERE rolname = '${PG_ROLE}'") ||
		die "postgresql: cannot query roles as the postgres user"
	if [[ ${exists} == 1 ]]; then
		log "postgresql: role ${PG_ROLE} exists; resetting LOGIN CREATEDB and its password"
		run as_postgres "ALTER ROLE ${PG_ROLE} WITH LOGIN CREATEDB PASSWORD '${PG_PASSWORD}'" ||
			die "postgresql: ALTER ROLE ${PG_ROLE} failed"
	else
		log "postgresql: creating role ${PG_ROLE}"
		run as_postgres "CREATE ROLE ${PG_ROLE} WITH LOGIN CREATEDB PASSWORD '${PG_PASSWORD}'" ||
			die "postgresql: CREATE ROLE ${PG_ROLE} failed"
	fi
	role_ok || die "postgresql: role ${PG_ROLE} still cannot log in on ${PG_HOST}:${PG_PORT} \
with its password (check pg_hba.conf allows scram-sha-256/md5 from ${PG_HOST})"
}

redis_ready() {
	[[ $(redis-cli -h "${REDIS_HOST}" -p "${REDIS_PORT}" ping 2>/dev/null) == PONG ]]
}

ensure_redis() {
	if redis_ready; then
		log "redis: already answering on ${REDIS_HOST}:${REDIS_PORT}"
		return 0
	fi
	log "redis: starting redis-server on ${REDIS_HOST}:${REDIS_PORT}"
	run redis-server --bind "${REDIS_HOST}" --port "${REDIS_PORT}" --daemonize yes \
		--save '' --appendonly no --dir /tmp --logfile "${REDIS_LOG}" ||
		die "redis: redis-server failed to start"
	wait_for redis_ready || die "redis: no PONG from ${REDIS_HOST}:${REDIS_PORT} \
after ${WAIT_SECONDS}s; see ${REDIS_LOG}"
}

main() {
	ensure_packages
	ensure_postgres
	ensure_role
	ensure_redis
	log "ready"
	printf 'export CLIPMESH_TEST_POSTGRES_URL=postgres://%s:%s@%s:%s/postgres?sslmode=disable\n' \
		"${PG_ROLE}" "${PG_PASSWORD}" "${PG_HOST}" "${PG_PORT}"
	printf 'export CLIPMESH_TEST_REDIS_ADDR=%s:%s\n' "${REDIS_HOST}" "${REDIS_PORT}"
}

main "$@"
